package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
)

// withBucket opens the KV bucket `name` and runs one operation on it within the call's timeout.
func withBucket(c *client, name string, do func(ctx context.Context, kv jetstream.KeyValue) error) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	kv, err := js.KeyValue(ctx, name)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", name, err)
	}
	return do(ctx, kv)
}

// withStore opens the object store `name` and runs one operation on it within the call's timeout.
func withStore(c *client, name string, do func(ctx context.Context, store jetstream.ObjectStore) error) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	store, err := js.ObjectStore(ctx, name)
	if err != nil {
		return fmt.Errorf("object store %s: %w", name, err)
	}
	return do(ctx, store)
}

// kvGet reads a key (the bucket's stream allows direct gets, so nats.go uses one).
func kvGet(c *client, args []string) error {
	return withBucket(c, args[0], func(ctx context.Context, kv jetstream.KeyValue) error {
		entry, err := kv.Get(ctx, args[1])
		if err != nil {
			return fmt.Errorf("get %s.%s: %w", args[0], args[1], err)
		}
		c.print(map[string]any{"key": entry.Key(), "value": string(entry.Value()), "revision": entry.Revision()})
		return nil
	})
}

func kvPut(c *client, args []string) error {
	return withBucket(c, args[0], func(ctx context.Context, kv jetstream.KeyValue) error {
		revision, err := kv.Put(ctx, args[1], []byte(args[2]))
		if err != nil {
			return fmt.Errorf("put %s.%s: %w", args[0], args[1], err)
		}
		c.print(map[string]any{"key": args[1], "revision": revision})
		return nil
	})
}

// kvKeys lists the keys through a watch: an ordered push consumer delivered to an inbox subject.
func kvKeys(c *client, args []string) error {
	return withBucket(c, args[0], func(ctx context.Context, kv jetstream.KeyValue) error {
		lister, err := kv.ListKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys of %s: %w", args[0], err)
		}
		keys := []string{}
		// The channel closes once the watch delivered every key and removed its consumer.
		for key := range lister.Keys() {
			keys = append(keys, key)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("keys of %s: %w", args[0], ctx.Err())
		}
		sort.Strings(keys)
		c.print(map[string]any{"keys": keys})
		return nil
	})
}

// objGet reads an object: its metadata (a direct get), then its chunks through an ordered consumer.
func objGet(c *client, args []string) error {
	return withStore(c, args[0], func(ctx context.Context, store jetstream.ObjectStore) error {
		data, err := store.GetBytes(ctx, args[1])
		if err != nil {
			return fmt.Errorf("get %s/%s: %w", args[0], args[1], err)
		}
		c.print(map[string]any{"name": args[1], "data": string(data)})
		return nil
	})
}

func objPut(c *client, args []string) error {
	return withStore(c, args[0], func(ctx context.Context, store jetstream.ObjectStore) error {
		info, err := store.PutBytes(ctx, args[1], []byte(args[2]))
		if err != nil {
			return fmt.Errorf("put %s/%s: %w", args[0], args[1], err)
		}
		c.print(map[string]any{"name": info.Name, "size": info.Size, "chunks": info.Chunks})
		return nil
	})
}
