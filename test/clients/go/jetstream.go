package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

func (c *client) jetstream() (jetstream.JetStream, context.Context, context.CancelFunc, error) {
	js, err := jetstream.New(c.nc, jetstream.WithDefaultTimeout(c.timeout))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	// A call of several requests (an object's info, then its chunks) gets room for a few of them.
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout)
	return js, ctx, cancel, nil
}

func (c *client) printMsg(msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	c.print(map[string]any{"stream": meta.Stream, "consumer": meta.Consumer, "seq": meta.Sequence.Stream, "subject": msg.Subject(), "data": string(msg.Data())})
	return nil
}

// jsPublish publishes with an ack: a request the stream answers.
func jsPublish(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	ack, err := js.Publish(ctx, args[0], []byte(args[1]))
	if err != nil {
		return fmt.Errorf("publish %s: %w", args[0], err)
	}
	c.print(map[string]any{"stream": ack.Stream, "seq": ack.Sequence})
	return nil
}

// jsNext fetches one message from a declared durable pull consumer (CONSUMER.INFO, then
// MSG.NEXT) and acknowledges it with a reply from the server (an ack that is a request).
func jsNext(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	consumer, err := js.Consumer(ctx, args[0], args[1])
	if err != nil {
		return fmt.Errorf("consumer %s > %s: %w", args[0], args[1], err)
	}
	batch, err := consumer.Fetch(1, jetstream.FetchMaxWait(c.timeout))
	if err != nil {
		return fmt.Errorf("fetch from %s > %s: %w", args[0], args[1], err)
	}
	msg, received := <-batch.Messages()
	if !received {
		if batch.Error() != nil {
			return fmt.Errorf("fetch from %s > %s: %w", args[0], args[1], batch.Error())
		}
		return fmt.Errorf("fetch from %s > %s: no message", args[0], args[1])
	}
	if err := msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return c.printMsg(msg)
}

// jsPush takes one message from a declared durable push consumer (CONSUMER.INFO, then its
// deliver subject) and acknowledges it with a reply from the server.
func jsPush(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	consumer, err := js.PushConsumer(ctx, args[0], args[1])
	if err != nil {
		return fmt.Errorf("consumer %s > %s: %w", args[0], args[1], err)
	}
	received := make(chan jetstream.Msg, 1)
	consuming, err := consumer.Consume(func(msg jetstream.Msg) {
		select {
		case received <- msg:
		default: // one is enough; a redelivery of another is left for later
		}
	})
	if err != nil {
		return fmt.Errorf("consume %s > %s: %w", args[0], args[1], err)
	}
	defer consuming.Stop()
	select {
	case msg := <-received:
		if err := msg.DoubleAck(ctx); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		return c.printMsg(msg)
	case <-ctx.Done():
		return fmt.Errorf("consume %s > %s: no message", args[0], args[1])
	}
}

// jsGet reads one message by sequence without a consumer (STREAM.INFO, then MSG.GET or a
// direct get, whichever the stream allows): the "read" intent.
func jsGet(c *client, args []string) error {
	seq, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		return fmt.Errorf("seq must be a number, got %q", args[1])
	}
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	stream, err := js.Stream(ctx, args[0])
	if err != nil {
		return fmt.Errorf("stream %s: %w", args[0], err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("get %s #%d: %w", args[0], seq, err)
	}
	c.print(map[string]any{"stream": args[0], "seq": msg.Sequence, "subject": msg.Subject, "data": string(msg.Data)})
	return nil
}
