// An application reading a stream through its durable pull consumer and acking each message, as
// the order service would: what it received and when, so a test can tell that it kept reading
// through a node failure and that nothing acknowledged by the publisher went missing for it.
import { jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { sleep } from "../../harness/natsServer";

export class DurableReader {
  /** Distinct payload ids received. */
  readonly received = new Set<number>();
  /** performance.now() of each delivery. */
  readonly deliveryTimes: number[] = [];
  /** Deliveries of an id already received (redeliveries after an ack was lost). */
  redeliveries = 0;
  /** The consume() loop's own notices (heartbeats_missed, consumer_not_found, ...), counted by type. */
  readonly notices: Record<string, number> = {};
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;

  private constructor(private readonly nc: NatsConnection) {}

  /**
   * `expiresMs` is each pull request's lifetime. When the consumer's leader dies, the pull that
   * server held dies with it, and nats.js notices only after two missed idle heartbeats (half of
   * `expires` each): with its default of 30 s, reading stalls for about 30 s (seen on 2.14.10
   * with nats.js 3.4). 5 s keeps that stall to about 5 s.
   */
  static async start(options: { servers: string[]; user: string; pass: string; inboxPrefix?: string; stream: string; consumer: string; expiresMs?: number }): Promise<DurableReader> {
    const nc = await connect({ servers: options.servers, user: options.user, pass: options.pass, inboxPrefix: options.inboxPrefix, name: "durable-reader", maxReconnectAttempts: -1 });
    const reader = new DurableReader(nc);
    const consumer = await jetstream(nc).consumers.get(options.stream, options.consumer);
    reader.messages = await consumer.consume({ max_messages: 100, expires: options.expiresMs ?? 5_000 });
    void (async () => {
      for await (const notice of reader.messages!.status()) reader.notices[notice.type] = (reader.notices[notice.type] ?? 0) + 1;
    })();
    reader.loop = (async () => {
      for await (const m of reader.messages!) {
        const id = Number(m.string());
        if (reader.received.has(id)) reader.redeliveries++;
        reader.received.add(id);
        reader.deliveryTimes.push(performance.now());
        m.ack();
      }
    })();
    return reader;
  }

  /** Deliveries after `time` (performance.now()). */
  deliveredAfter(time: number): number {
    return this.deliveryTimes.filter((t) => t > time).length;
  }

  /** Longest time between two deliveries after `from`. */
  longestGapMs(from = 0): number {
    let longest = 0;
    for (let i = 1; i < this.deliveryTimes.length; i++) if (this.deliveryTimes[i - 1] >= from) longest = Math.max(longest, this.deliveryTimes[i] - this.deliveryTimes[i - 1]);
    return Math.round(longest);
  }

  /** Waits (bounded) until every id in `ids` has been received; returns the ones still missing. */
  async until(ids: number[], timeoutMs: number): Promise<number[]> {
    const deadline = performance.now() + timeoutMs;
    let missing = ids.filter((id) => !this.received.has(id));
    while (missing.length && performance.now() < deadline) {
      await sleep(50);
      missing = missing.filter((id) => !this.received.has(id));
    }
    return missing;
  }

  async stop(): Promise<void> {
    this.messages?.stop();
    await this.loop;
    // Lets the last acks reach the server before the connection goes.
    await this.nc.drain();
  }
}
