package main

import (
	"fmt"
	"sort"
)

// kvGet reads a key (the bucket's stream allows direct gets, so nats.go uses one).
func kvGet(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	kv, err := js.KeyValue(ctx, args[0])
	if err != nil {
		return fmt.Errorf("bucket %s: %w", args[0], err)
	}
	entry, err := kv.Get(ctx, args[1])
	if err != nil {
		return fmt.Errorf("get %s.%s: %w", args[0], args[1], err)
	}
	c.print(map[string]any{"key": entry.Key(), "value": string(entry.Value()), "revision": entry.Revision()})
	return nil
}

func kvPut(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	kv, err := js.KeyValue(ctx, args[0])
	if err != nil {
		return fmt.Errorf("bucket %s: %w", args[0], err)
	}
	revision, err := kv.Put(ctx, args[1], []byte(args[2]))
	if err != nil {
		return fmt.Errorf("put %s.%s: %w", args[0], args[1], err)
	}
	c.print(map[string]any{"key": args[1], "revision": revision})
	return nil
}

// kvKeys lists the keys through a watch: an ordered push consumer delivered to an inbox subject.
func kvKeys(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	kv, err := js.KeyValue(ctx, args[0])
	if err != nil {
		return fmt.Errorf("bucket %s: %w", args[0], err)
	}
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
}

// objGet reads an object: its metadata (a direct get), then its chunks through an ordered consumer.
func objGet(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	store, err := js.ObjectStore(ctx, args[0])
	if err != nil {
		return fmt.Errorf("object store %s: %w", args[0], err)
	}
	data, err := store.GetBytes(ctx, args[1])
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", args[0], args[1], err)
	}
	c.print(map[string]any{"name": args[1], "data": string(data)})
	return nil
}

func objPut(c *client, args []string) error {
	js, ctx, cancel, err := c.jetstream()
	if err != nil {
		return err
	}
	defer cancel()
	store, err := js.ObjectStore(ctx, args[0])
	if err != nil {
		return fmt.Errorf("object store %s: %w", args[0], err)
	}
	info, err := store.PutBytes(ctx, args[1], []byte(args[2]))
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", args[0], args[1], err)
	}
	c.print(map[string]any{"name": info.Name, "size": info.Size, "chunks": info.Chunks})
	return nil
}
