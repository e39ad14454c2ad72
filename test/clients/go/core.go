package main

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// request sends one request; its reply arrives under the inbox prefix.
func request(c *client, args []string) error {
	msg, err := c.nc.Request(args[0], []byte(args[1]), c.timeout)
	if err != nil {
		return fmt.Errorf("request %s: %w", args[0], err)
	}
	c.print(map[string]string{"reply": string(msg.Data)})
	return nil
}

// reply answers <count> requests with <data>, printing each request, then exits.
func reply(c *client, args []string) error {
	count, err := positive("count", args[2])
	if err != nil {
		return err
	}
	sub, err := c.nc.SubscribeSync(args[0])
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", args[0], err)
	}
	if err := c.ready(); err != nil {
		return err
	}
	for answered := 0; answered < count; answered++ {
		// Requests come when the test sends them: wait for them as long as the test lets us run.
		msg, err := sub.NextMsg(time.Hour)
		if err != nil {
			return fmt.Errorf("waiting for request %d on %s: %w", answered+1, args[0], err)
		}
		if err := msg.Respond([]byte(args[1])); err != nil {
			return fmt.Errorf("respond on %s: %w", msg.Reply, err)
		}
		c.print(map[string]string{"subject": msg.Subject, "data": string(msg.Data), "reply": msg.Reply})
	}
	// The last answer must leave before the connection closes.
	return c.nc.FlushTimeout(c.timeout)
}

// sub prints every message <subject> delivers for <seconds>; a refused subscription shows up
// as an asynchronous error line, and the program still runs to its end.
func sub(c *client, args []string) error {
	seconds, err := positive("seconds", args[1])
	if err != nil {
		return err
	}
	_, err = c.nc.Subscribe(args[0], func(msg *nats.Msg) {
		c.print(map[string]string{"subject": msg.Subject, "data": string(msg.Data)})
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", args[0], err)
	}
	if err := c.ready(); err != nil {
		return err
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	return nil
}
