// nats-infra-goclient: one nats.go call per subcommand, so the tests can check that a service's
// grants (and only those) work from a Go client, with or without a private inbox prefix.
//
// Environment: NATS_URL (a comma-separated list), NATS_USER, NATS_PASSWORD, NATS_INBOX_PREFIX
// (optional: nats.CustomInboxPrefix) and NATS_TIMEOUT (optional Go duration for each call,
// default 2s). Results are JSON lines on stdout; errors are `error: <message>` lines on stderr,
// asynchronous ones (a permission violation the server reports) as they come, and a failed call
// ends the program with status 1.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

type command struct {
	args  string
	count int
	run   func(c *client, args []string) error
}

var commands = map[string]command{
	"request":    {"<subject> <data>", 2, request},
	"reply":      {"<subject> <data> <count>", 3, reply},
	"sub":        {"<subject> <seconds>", 2, sub},
	"js-publish": {"<subject> <data>", 2, jsPublish},
	"js-next":    {"<stream> <consumer>", 2, jsNext},
	"js-push":    {"<stream> <consumer>", 2, jsPush},
	"js-get":     {"<stream> <seq>", 2, jsGet},
	"kv-get":     {"<bucket> <key>", 2, kvGet},
	"kv-put":     {"<bucket> <key> <value>", 3, kvPut},
	"kv-keys":    {"<bucket>", 1, kvKeys},
	"obj-get":    {"<store> <name>", 2, objGet},
	"obj-put":    {"<store> <name> <data>", 3, objPut},
}

// client is the connection plus the output, which callbacks write from other goroutines.
type client struct {
	nc      *nats.Conn
	timeout time.Duration
	mu      sync.Mutex
	// Closed once the closed handler ran: it is queued after every asynchronous error callback.
	closed chan struct{}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, known := commands[os.Args[1]]
	if !known || len(os.Args)-2 != cmd.count {
		usage()
	}
	c := &client{timeout: 2 * time.Second, closed: make(chan struct{})}
	if value := os.Getenv("NATS_TIMEOUT"); value != "" {
		timeout, err := time.ParseDuration(value)
		if err != nil {
			fail(fmt.Errorf("NATS_TIMEOUT: %w", err))
		}
		c.timeout = timeout
	}
	if err := c.connect(); err != nil {
		fail(err)
	}
	err := cmd.run(c, os.Args[2:])
	c.close()
	if err != nil {
		fail(err)
	}
}

func (c *client) connect() error {
	url := os.Getenv("NATS_URL")
	if url == "" {
		return fmt.Errorf("NATS_URL is not set")
	}
	options := []nats.Option{
		nats.Name("nats-infra-goclient"),
		nats.UserInfo(os.Getenv("NATS_USER"), os.Getenv("NATS_PASSWORD")),
		nats.Timeout(c.timeout),
		// A test client: a lost connection is a failure to report, not something to ride out.
		nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { c.errorLine(err) }),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
	}
	if prefix := os.Getenv("NATS_INBOX_PREFIX"); prefix != "" {
		options = append(options, nats.CustomInboxPrefix(prefix))
	}
	nc, err := nats.Connect(url, options...)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	c.nc = nc
	return nil
}

// close closes the connection and waits until the error callbacks queued before have printed
// their lines, so a permission violation the server reported is never lost at exit.
func (c *client) close() {
	c.nc.Close()
	select {
	case <-c.closed:
	case <-time.After(c.timeout):
	}
}

// print writes one JSON line on stdout.
func (c *client) print(value any) {
	line, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(os.Stdout, string(line))
}

func (c *client) errorLine(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
}

// ready tells a test driving this program that its subscription is in place on the server.
func (c *client) ready() error {
	if err := c.nc.FlushTimeout(c.timeout); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(os.Stderr, "ready")
	return nil
}

func positive(name, value string) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s must be a positive integer, got %q", name, value)
	}
	return n, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

func usage() {
	fmt.Fprintln(os.Stderr, "error: usage: nats-infra-goclient <command> [args], where <command> is one of:")
	for _, name := range []string{"request", "reply", "sub", "js-publish", "js-next", "js-push", "js-get", "kv-get", "kv-put", "kv-keys", "obj-get", "obj-put"} {
		fmt.Fprintf(os.Stderr, "  %s %s\n", name, commands[name].args)
	}
	os.Exit(1)
}
