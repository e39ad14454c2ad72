// A JetStream publisher that waits for EVERY ack, one message at a time, the way a careful
// application publishes: a message whose ack does not come is retried with the same Nats-Msg-Id
// (the stream's duplicate window drops a second copy), until it is acknowledged. What it
// records is what a loss check and a stall measure need: which messages were acknowledged, and
// when each ack arrived.
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { sleep } from "../../harness/natsServer";

export interface AckedPublisherOptions {
  servers: string[];
  user: string;
  pass: string;
  /** The user's inbox prefix where its replies (the acks) are private. */
  inboxPrefix?: string;
  subject: string;
  /** Stop after this many acknowledged messages (keeps every test bounded). */
  limit: number;
  /** Pause between two messages; 0 publishes as fast as acks come. */
  intervalMs?: number;
  /** How long one attempt waits for its ack. */
  ackTimeoutMs?: number;
  /** One message retried this long without an ack ends the publisher with an error. */
  giveUpMs?: number;
}

export interface PublisherReport {
  acked: number;
  /** Attempts that got no ack (timeout, no responders, disconnected): what the application saw. */
  failedAttempts: number;
  /** Acks the stream answered as duplicates: a retry of a message it had already stored. */
  duplicates: number;
  /** Longest time from one ack to the next. */
  longestStallMs: number;
}

export class AckedPublisher {
  /** Payload ids (1, 2, ...) of every acknowledged message, in order. */
  readonly acked: number[] = [];
  /** performance.now() of each ack, parallel to `acked`. */
  readonly ackTimes: number[] = [];
  /** performance.now() of each acknowledged message's first attempt, parallel to `acked`. */
  readonly sentTimes: number[] = [];
  failedAttempts = 0;
  duplicates = 0;
  private running = true;
  private ended = false;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: AckedPublisherOptions,
  ) {
    this.loop = this.publish().finally(() => (this.ended = true));
    // A give-up is reported by untilAcked() or stop(); this only keeps it from being "unhandled" meanwhile.
    this.loop.catch(() => undefined);
  }

  static async start(options: AckedPublisherOptions): Promise<AckedPublisher> {
    // The full URL list and the client's defaults otherwise, as an application would connect;
    // reconnects are unbounded so a long test never ends with a closed publisher.
    const nc = await connect({ servers: options.servers, user: options.user, pass: options.pass, inboxPrefix: options.inboxPrefix, name: "acked-publisher", maxReconnectAttempts: -1 });
    return new AckedPublisher(nc, options);
  }

  private async publish(): Promise<void> {
    const { subject, limit, intervalMs = 1, ackTimeoutMs = 2_000, giveUpMs = 60_000 } = this.options;
    const js = jetstream(this.nc, { timeout: ackTimeoutMs });
    for (let id = 1; this.running && id <= limit; id++) {
      const first = performance.now();
      for (;;) {
        try {
          const ack = await js.publish(subject, String(id), { msgID: `msg-${id}` });
          if (ack.duplicate) this.duplicates++;
          this.acked.push(id);
          this.ackTimes.push(performance.now());
          this.sentTimes.push(first);
          break;
        } catch (error) {
          this.failedAttempts++;
          if (performance.now() - first > giveUpMs) throw new Error(`message ${id} got no ack in ${giveUpMs} ms: ${String(error)}`);
          await sleep(50);
        }
      }
      if (intervalMs) await sleep(intervalMs);
    }
  }

  /** Resolves once `count` messages in all are acknowledged (or the publisher ended). */
  async untilAcked(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.acked.length < count && !this.ended) {
      if (performance.now() > deadline) throw new Error(`only ${this.acked.length} of ${count} messages acknowledged within ${timeoutMs} ms`);
      await sleep(10);
    }
    if (this.acked.length < count) await this.loop;
  }

  /**
   * When the first message first sent after `time` (performance.now()) was acknowledged. An ack
   * already on its way when a server died is not a sign of recovery; a message sent afterwards is.
   */
  firstAckOfMessageSentAfter(time: number): number | undefined {
    const i = this.sentTimes.findIndex((t) => t > time);
    return i < 0 ? undefined : this.ackTimes[i];
  }

  /** Longest gap between consecutive acks, optionally only among acks after `from`. */
  longestStallMs(from = 0): number {
    let longest = 0;
    for (let i = 1; i < this.ackTimes.length; i++) if (this.ackTimes[i - 1] >= from) longest = Math.max(longest, this.ackTimes[i] - this.ackTimes[i - 1]);
    return longest;
  }

  /** Stops after the message in flight is acknowledged; rethrows a give-up. */
  async stop(): Promise<PublisherReport> {
    this.running = false;
    try {
      await this.loop;
    } finally {
      await this.nc.close();
    }
    return { acked: this.acked.length, failedAttempts: this.failedAttempts, duplicates: this.duplicates, longestStallMs: Math.round(this.longestStallMs()) };
  }
}
