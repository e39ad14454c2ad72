// Clients that keep working while auth changes happen around them, and count what they see:
// a core publisher and subscriber pair (sequence numbers, so a gap is a lost message) and a
// JetStream publisher that waits for every ack (and retries with the same Nats-Msg-Id, so a
// retry never stores a duplicate). None of their users is touched by the changes.
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { performance } from "node:perf_hooks";
import { sleep } from "../../test/harness/natsServer";

/** nats.js's own default, spelled out: how long a client waits between reconnect attempts. */
export const RECONNECT_TIME_WAIT_MS = 2000;
/** Core messages per tick and the tick: about 1000 messages a second. */
const CORE_BATCH = 5;
const CORE_TICK_MS = 5;
/** A JetStream publish that gets no ack in this long is an error (and is retried). */
const JS_ACK_TIMEOUT_MS = 2000;

export interface ClientCounts {
  disconnects: number;
  reconnects: number;
  /** Between a disconnect and the next reconnect. */
  connected: boolean;
}

export interface SteadyReport {
  corePublished: number;
  coreReceived: number;
  coreLost: number;
  /** Longest time between two deliveries to the subscriber. */
  coreLongestGapMs: number;
  jsAcked: number;
  /** Publish attempts that failed (timeout, disconnected): the application would see these. */
  jsErrors: number;
  /** Longest time one JetStream message took from first attempt to ack, retries included. */
  jsLongestPublishMs: number;
  /** Per client: disconnects and reconnects seen in its status stream. */
  clients: Record<string, ClientCounts>;
}

export interface SteadyUsers {
  url: string;
  publisher: { user: string; pass: string; subject: string };
  subscriber: { user: string; pass: string; subject: string };
  jsPublisher: { user: string; pass: string; subject: string };
}

export class SteadyClients {
  private running = true;
  private published = 0;
  private received = new Set<number>();
  private lastDelivery = 0;
  private longestGap = 0;
  private acked = 0;
  private jsErrors = 0;
  private jsLongest = 0;
  private loops: Promise<void>[] = [];
  private readonly counts: Record<string, ClientCounts> = {};

  private constructor(private readonly connections: Record<string, NatsConnection>) {
    for (const [name, nc] of Object.entries(connections)) {
      const counts: ClientCounts = { disconnects: 0, reconnects: 0, connected: true };
      this.counts[name] = counts;
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === "disconnect") {
            counts.disconnects++;
            counts.connected = false;
          }
          if (status.type === "reconnect") {
            counts.reconnects++;
            counts.connected = true;
          }
        }
      })();
    }
  }

  static async start(users: SteadyUsers): Promise<SteadyClients> {
    const open = (name: string, user: string, pass: string) =>
      connect({ servers: users.url, user, pass, name, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_TIME_WAIT_MS });
    const connections = {
      publisher: await open("bench-publisher", users.publisher.user, users.publisher.pass),
      subscriber: await open("bench-subscriber", users.subscriber.user, users.subscriber.pass),
      jsPublisher: await open("bench-js-publisher", users.jsPublisher.user, users.jsPublisher.pass),
    };
    const clients = new SteadyClients(connections);
    const sub = connections.subscriber.subscribe(users.subscriber.subject, {
      callback: (_error: Error | null, msg: Msg) => {
        const now = performance.now();
        if (clients.lastDelivery) clients.longestGap = Math.max(clients.longestGap, now - clients.lastDelivery);
        clients.lastDelivery = now;
        clients.received.add(Number(msg.string()));
      },
    });
    void sub;
    await connections.subscriber.flush();
    clients.loops.push(clients.publishCore(connections.publisher, users.publisher.subject));
    clients.loops.push(clients.publishJetStream(connections.jsPublisher, users.jsPublisher.subject));
    return clients;
  }

  private async publishCore(nc: NatsConnection, subject: string) {
    while (this.running) {
      for (let i = 0; i < CORE_BATCH; i++) nc.publish(subject, String(++this.published));
      await sleep(CORE_TICK_MS);
    }
    await flushWhenConnected(nc);
  }

  private async publishJetStream(nc: NatsConnection, subject: string) {
    const js = jetstream(nc, { timeout: JS_ACK_TIMEOUT_MS });
    let seq = 0;
    while (this.running) {
      seq++;
      const first = performance.now();
      // Bounded: a message that cannot be stored in 60 s of retries ends the loop as an error.
      for (let attempt = 0; ; attempt++) {
        try {
          await js.publish(subject, String(seq), { msgID: `bench-${seq}` });
          this.acked++;
          break;
        } catch {
          this.jsErrors++;
          if (attempt >= 600 || !this.running) break;
          await sleep(100);
        }
      }
      this.jsLongest = Math.max(this.jsLongest, performance.now() - first);
      await sleep(2);
    }
  }

  /** Counters to pass to untilRecovered, taken just before a change. */
  mark(): { received: number; acked: number } {
    return { received: this.received.size, acked: this.acked };
  }

  /**
   * Waits (bounded) until the steady traffic works again after a change: every client is
   * connected, the subscriber got a message and the JetStream publisher an ack since `since`.
   */
  async untilRecovered(since: { received: number; acked: number }, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const recovered = () => Object.values(this.counts).every((c) => c.connected) && this.received.size > since.received && this.acked > since.acked;
    while (!recovered()) {
      if (performance.now() > deadline) throw new Error(`steady traffic did not recover within ${timeoutMs} ms: ${JSON.stringify({ ...this.counts, since, now: this.mark() })}`);
      await sleep(5);
    }
  }

  /** Stops publishing, lets the last messages arrive, closes every connection. */
  async stop(): Promise<SteadyReport> {
    this.running = false;
    await Promise.all(this.loops);
    // Deliveries in flight arrive within a few ms on loopback; wait until the count holds still.
    for (let i = 0, last = -1; i < 40 && this.received.size !== last; i++) {
      last = this.received.size;
      await sleep(50);
    }
    for (const nc of Object.values(this.connections)) await nc.close();
    return {
      corePublished: this.published,
      coreReceived: this.received.size,
      coreLost: this.published - this.received.size,
      coreLongestGapMs: this.longestGap,
      jsAcked: this.acked,
      jsErrors: this.jsErrors,
      jsLongestPublishMs: this.jsLongest,
      clients: this.counts,
    };
  }
}

/** flush() fails while the client is reconnecting; the buffered messages go out once it is back. */
async function flushWhenConnected(nc: NatsConnection): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await nc.flush();
      return;
    } catch {
      await sleep(50);
    }
  }
}
