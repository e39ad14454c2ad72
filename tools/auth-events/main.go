// nats-infra-auth-events counts the logins a NATS server refuses and serves the counts to
// Prometheus. nats-server publishes one event per refused login on
// $SYS.SERVER.<server-id>.CLIENT.AUTH.ERR in the system account (a DisconnectEventMsg: the
// server's name, the client's user, the reason); neither /varz nor NATS Surveyor counts them, so
// this program subscribes to them as a system-account user and exports
//
//	nats_infra_auth_errors_total{server_name, user}   refused logins since it started
//	nats_infra_auth_events_connected                   1 while it is connected to NATS, else 0
//
// on /metrics. `user` is one of the names given by --users, else "other", so a login attempt under
// any name cannot add a series. Its password is read from a file (--password-file or
// NATS_AUTH_EVENTS_PASSWORD_FILE) at every connection attempt, never from the command line or
// the environment. It reconnects forever.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// The subject nats-server (2.14) publishes a refused login on; the wildcard is the server's id.
const authErrorSubject = "$SYS.SERVER.*.CLIENT.AUTH.ERR"

// otherUser stands for every user name not given by --users.
const otherUser = "other"

// authErrorEvent is the part of the server's event this program reads.
type authErrorEvent struct {
	Server struct {
		Name string `json:"name"`
	} `json:"server"`
	Client struct {
		User string `json:"user"`
	} `json:"client"`
	Reason string `json:"reason"`
}

type seriesKey struct{ server, user string }

// counts holds the counter per (server, user); series are never removed, as a counter's must not be.
type counts struct {
	mu     sync.Mutex
	byKey  map[seriesKey]uint64
	known  map[string]bool
	events uint64
}

func newCounts(servers, users []string) *counts {
	c := &counts{byKey: map[seriesKey]uint64{}, known: map[string]bool{}}
	for _, u := range users {
		c.known[u] = true
	}
	// Series start at 0 for every declared server and user, so the first refused login is an
	// increase Prometheus sees (a series that first appears at 1 has no increase).
	for _, s := range servers {
		for _, u := range append(append([]string{}, users...), otherUser) {
			c.byKey[seriesKey{s, u}] = 0
		}
	}
	return c
}

func (c *counts) add(ev authErrorEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	user := otherUser
	if c.known[ev.Client.User] {
		user = ev.Client.User
	}
	c.byKey[seriesKey{ev.Server.Name, user}]++
	c.events++
}

// escape quotes a label value as the Prometheus text format requires.
func escape(value string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(value)
}

func (c *counts) write(w *strings.Builder, connected bool) {
	c.mu.Lock()
	keys := make([]seriesKey, 0, len(c.byKey))
	for k := range c.byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].server != keys[j].server {
			return keys[i].server < keys[j].server
		}
		return keys[i].user < keys[j].user
	})
	fmt.Fprintln(w, "# HELP nats_infra_auth_errors_total Logins the NATS server refused (its CLIENT.AUTH.ERR events) since this exporter started.")
	fmt.Fprintln(w, "# TYPE nats_infra_auth_errors_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "nats_infra_auth_errors_total{server_name=\"%s\",user=\"%s\"} %d\n", escape(k.server), escape(k.user), c.byKey[k])
	}
	c.mu.Unlock()
	gauge := 0
	if connected {
		gauge = 1
	}
	fmt.Fprintln(w, "# HELP nats_infra_auth_events_connected Whether the exporter is connected to NATS (1) or not (0): while 0, refused logins are not counted.")
	fmt.Fprintln(w, "# TYPE nats_infra_auth_events_connected gauge")
	fmt.Fprintf(w, "nats_infra_auth_events_connected %d\n", gauge)
}

func list(value string) []string {
	var out []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func main() {
	servers := flag.String("servers", os.Getenv("NATS_URL"), "NATS server URLs, comma-separated (default $NATS_URL)")
	user := flag.String("user", "_auth_events", "the system-account user to connect as")
	passwordFile := flag.String("password-file", os.Getenv("NATS_AUTH_EVENTS_PASSWORD_FILE"), "file holding the user's password (default $NATS_AUTH_EVENTS_PASSWORD_FILE)")
	inboxPrefix := flag.String("inbox-prefix", "", "the user's inbox prefix (empty: the client library's _INBOX)")
	listen := flag.String("listen", ":7778", "address of the /metrics endpoint")
	users := flag.String("users", "", "user names counted under their own name, comma-separated; others count as \"other\"")
	serverNames := flag.String("server-names", "", "server names whose counters start at 0, comma-separated")
	flag.Parse()
	if *servers == "" || *passwordFile == "" {
		log.Fatal("--servers (or NATS_URL) and --password-file (or NATS_AUTH_EVENTS_PASSWORD_FILE) are required")
	}
	// Fail at start on a file that cannot be read, rather than retrying a login that cannot work.
	if _, err := readPassword(*passwordFile); err != nil {
		log.Fatal(err)
	}

	c := newCounts(list(*serverNames), list(*users))
	nc, err := connect(*servers, *user, *passwordFile, *inboxPrefix, c)
	if err != nil {
		log.Fatalf("connect: %v", err)
	}
	defer nc.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		c.write(&b, nc.IsConnected())
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	log.Printf("serving /metrics on %s; counting %s from %s as %s", listener.Addr(), authErrorSubject, *servers, *user)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve: %v", err)
		}
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = server.Close()
}

func readPassword(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	password := strings.TrimRight(string(raw), "\r\n")
	if password == "" {
		return "", fmt.Errorf("password file %s is empty", file)
	}
	return password, nil
}

// connect subscribes before the first connection succeeds (RetryOnFailedConnect), so a server
// that starts after the exporter is picked up, and never gives up reconnecting.
func connect(servers, user, passwordFile, inboxPrefix string, c *counts) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("nats-infra-auth-events"),
		// Read at every attempt: a rotated password file is used without a restart.
		nats.UserInfoHandler(func() (string, string) {
			password, err := readPassword(passwordFile)
			if err != nil {
				log.Print(err)
			}
			return user, password
		}),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) { log.Printf("connected to %s", nc.ConnectedUrlRedacted()) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Printf("reconnected to %s", nc.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Printf("disconnected: %v", err) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Printf("error: %v", err) }),
	}
	if inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(inboxPrefix))
	}
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, err
	}
	_, err = nc.Subscribe(authErrorSubject, func(m *nats.Msg) {
		var ev authErrorEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Server.Name == "" {
			log.Printf("unreadable event on %s: %v", m.Subject, err)
			return
		}
		c.add(ev)
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}
