// Steady clients of a deployed stack while it changes under them: a JetStream publisher that
// waits for every ack (test/cluster/support/ackedPublisher.ts) and core subscribers, a publisher
// and a request/reply loop (coreTraffic.ts), all on the stack's URL list with the dev stack's
// services. At the end: which acknowledged messages the stream does not hold, which core messages
// a subscriber missed, and every reconnect.
import { privateInboxPrefix } from "../../config/inboxes";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { AckedPublisher } from "../cluster/support/ackedPublisher";
import { CoreTraffic } from "../cluster/support/coreTraffic";
import { sleep } from "./natsServer";

export interface TrafficAccess {
  servers: string[];
  /** A service's user, password and inbox prefix (its credentials' inboxPrefix). */
  as(service: string): { user: string; pass: string; inboxPrefix?: string };
  /** The account's JetStream admin: reads the stream message by message. */
  admin: { user: string; pass: string; inboxPrefix?: string };
}

export interface TrafficOptions {
  stream: string;
  /** The acked publisher's own subject (the core publisher uses events.teacher). */
  ackedSubject: string;
  ackedService: string;
  /** The stream's duplicate window: the publisher ids its messages msg-1, msg-2, ... in every session. */
  duplicateWindowMs: number;
}

export const DEV_TRAFFIC: TrafficOptions = { stream: "EVENTS", ackedSubject: "events.user", ackedService: "user-service", duplicateWindowMs: 5_000 };

export interface SteadyReport {
  acked: number;
  /** Acknowledged messages the stream does not hold. */
  lostAcked: number[];
  corePublished: number;
  /** Core messages each subscriber missed. */
  coreMissed: number[];
  /** Core messages each subscriber received after `since` (see end()). */
  coreReceivedSince: number[];
  requests: { sent: number; failed: number };
  reconnects: Record<string, number>;
  closedEarly: string[];
  summary: string;
}

let lastEnd = -Infinity;

export class SteadyTraffic {
  private constructor(
    private readonly access: TrafficAccess,
    private readonly options: TrafficOptions,
    /** The clients themselves, for a test that watches them while a node fails. */
    readonly publisher: AckedPublisher,
    readonly core: CoreTraffic,
    private readonly fromSeq: number,
  ) {}

  static async start(access: TrafficAccess, options: TrafficOptions = DEV_TRAFFIC): Promise<SteadyTraffic> {
    // A session starts after the previous one's ids left the duplicate window.
    await sleep(Math.max(0, lastEnd + options.duplicateWindowMs + 1_000 - performance.now()));
    const fromSeq = await asAdmin(access, async (jsm) => (await jsm.streams.info(options.stream)).state.last_seq + 1);
    const publisher = await AckedPublisher.start({ servers: access.servers, ...access.as(options.ackedService), subject: options.ackedSubject, limit: 1_000_000, intervalMs: 20 });
    const core = await CoreTraffic.start(access.servers, { subscriber: access.as("notification-service"), publisher: access.as("teacher-service"), responder: access.as("user-service") }, 2);
    await publisher.untilAcked(10);
    return new SteadyTraffic(access, options, publisher, core, fromSeq);
  }

  /** Stops the clients; `since` (performance.now()) splits the subscribers' "received since". */
  async end(since = 0): Promise<SteadyReport> {
    const published = await this.publisher.stop();
    await this.core.quiesce();
    lastEnd = performance.now();
    const report = this.core.report(since);
    const closedEarly = this.core.closedEarly();
    await this.core.stop();
    const stored = await this.storedPayloads();
    const lostAcked = this.publisher.acked.filter((id) => !stored.has(String(id)));
    const coreMissed = report.subscribers.map((s) => report.published - s.received);
    return {
      acked: published.acked,
      lostAcked,
      corePublished: report.published,
      coreMissed,
      coreReceivedSince: report.subscribers.map((s) => s.receivedSince),
      requests: { sent: report.requests.sent, failed: report.requests.failed },
      reconnects: report.reconnects,
      closedEarly,
      summary:
        `JetStream: ${published.acked} acknowledged, ${lostAcked.length} of them lost, ${published.failedAttempts} attempts without an ack (retried with the same id), ${published.duplicates} duplicates dropped, longest stall ${published.longestStallMs} ms; ` +
        `core: ${report.published} published, missed per subscriber ${coreMissed.join("/")}, requests ${report.requests.answered}/${report.requests.sent} answered; ` +
        `reconnects ${JSON.stringify(report.reconnects)}`,
    };
  }

  /** Every payload the stream holds under the acked subject since the session started. */
  private storedPayloads(): Promise<Set<string>> {
    return asAdmin(this.access, async (jsm) => {
      const { state } = await jsm.streams.info(this.options.stream);
      const stored = new Set<string>();
      for (let seq = Math.max(this.fromSeq, state.first_seq); seq <= state.last_seq; seq++) {
        const message = await jsm.streams.getMessage(this.options.stream, { seq });
        if (message?.subject === this.options.ackedSubject) stored.add(message.string());
      }
      return stored;
    });
  }
}

async function asAdmin<T>(access: TrafficAccess, work: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: access.servers, user: access.admin.user, pass: access.admin.pass, inboxPrefix: access.admin.inboxPrefix });
  try {
    return await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** Access from a deployed stack's outputs (`npm run outputs`). */
export function accessFromOutputs(
  outputs: { credentials: Record<string, { user: string; password: string; url: string; inboxPrefix?: string }>; jetstreamAdmins: Record<string, { user: string; password: string; inboxPrefix?: string }> },
  account = "APP",
): TrafficAccess {
  const credentials = outputs.credentials;
  const admin = outputs.jetstreamAdmins[account];
  return {
    servers: Object.values(credentials)[0].url.split(","),
    // Stacks deployed before private inboxes have no inboxPrefix in their outputs: the default then.
    as: (service) => ({ user: credentials[service].user, pass: credentials[service].password, inboxPrefix: credentials[service].inboxPrefix }),
    admin: { user: admin.user, pass: admin.password, inboxPrefix: admin.inboxPrefix ?? privateInboxPrefix(admin.user) },
  };
}
