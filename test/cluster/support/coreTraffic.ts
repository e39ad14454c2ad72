// Core NATS clients that keep working while servers go away under them, each connected with the
// FULL URL list (as a list: nats.js does not split a comma-separated string) and the client's
// default reconnect settings: subscribers on `events.*`, a publisher feeding them, and a
// request/reply loop (teacher-service asks `user.get`, two user-service instances answer). Every
// connection's disconnects and reconnects are recorded with their times, so a failed request can
// be matched against the reconnects that explain it.
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { sleep } from "../../harness/natsServer";

/** A window in which a connection had no server: [disconnect, reconnect], performance.now() times. */
export type Outage = [number, number];

interface Tracked {
  name: string;
  nc: NatsConnection;
  outages: Outage[];
  reconnects: number;
  /** Set when the client gave up (its closed() resolved) before stop(). */
  closedEarly: boolean;
}

export interface SubscriberReport {
  name: string;
  received: number;
  /** Received after `since` (see report()). */
  receivedSince: number;
  reconnects: number;
  closedEarly: boolean;
}

export interface RequestReport {
  sent: number;
  answered: number;
  failed: number;
  /** Failed requests that overlap no outage of the requester or of a responder (plus slack). */
  unexplained: { at: number; error: string }[];
  longestGapMs: number;
}

const PUBLISH_EVERY_MS = 10;
const PUBLISHED_SUBJECT = "events.teacher";
const REQUEST_TIMEOUT_MS = 1_000;
/** After a reconnect, subscriptions are replayed to the new server and spread over routes: allow this long. */
const AFTER_RECONNECT_SLACK_MS = 1_000;

/** nats.js login options; `inboxPrefix` where the user's replies are private (config/inboxes.ts). */
type CoreLogin = { user: string; pass: string; inboxPrefix?: string };

export interface CoreUsers {
  subscriber: CoreLogin;
  publisher: CoreLogin;
  responder: CoreLogin;
}

export class CoreTraffic {
  private running = true;
  private readonly tracked: Tracked[] = [];
  private readonly subscribers: { tracked: Tracked; times: number[] }[] = [];
  private readonly requests: { start: number; end: number; error?: string }[] = [];
  private published = 0;
  private loops: Promise<void>[] = [];

  private constructor(private readonly servers: string[]) {}

  static async start(servers: string[], users: CoreUsers, subscriberCount: number): Promise<CoreTraffic> {
    const traffic = new CoreTraffic(servers);
    for (let i = 0; i < subscriberCount; i++) {
      const tracked = await traffic.open(`subscriber-${i}`, users.subscriber);
      const entry = { tracked, times: [] as number[] };
      // Counted: the core publisher's own messages (other clients may publish under events.* too).
      tracked.nc.subscribe("events.*", { callback: (_error: Error | null, msg: Msg) => void (msg.subject === PUBLISHED_SUBJECT && entry.times.push(performance.now())) });
      await tracked.nc.flush();
      traffic.subscribers.push(entry);
    }
    for (let i = 0; i < 2; i++) {
      const responder = await traffic.open(`responder-${i}`, users.responder);
      responder.nc.subscribe("user.get", { callback: (_error: Error | null, msg: Msg) => void msg.respond(`user from responder-${i}`) });
      await responder.nc.flush();
    }
    const publisher = await traffic.open("publisher", users.publisher);
    const requester = await traffic.open("requester", users.publisher);
    traffic.loops.push(traffic.publish(publisher.nc), traffic.request(requester.nc));
    return traffic;
  }

  private async open(name: string, who: CoreLogin): Promise<Tracked> {
    const nc = await connect({ servers: this.servers, user: who.user, pass: who.pass, inboxPrefix: who.inboxPrefix, name });
    const tracked: Tracked = { name, nc, outages: [], reconnects: 0, closedEarly: false };
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect") tracked.outages.push([performance.now(), Infinity]);
        if (status.type === "reconnect") {
          tracked.reconnects++;
          const open = tracked.outages.at(-1);
          if (open && open[1] === Infinity) open[1] = performance.now();
        }
      }
    })();
    void nc.closed().then(() => {
      if (this.running) tracked.closedEarly = true;
    });
    this.tracked.push(tracked);
    return tracked;
  }

  private async publish(nc: NatsConnection): Promise<void> {
    while (this.running) {
      nc.publish(PUBLISHED_SUBJECT, String(++this.published));
      await sleep(PUBLISH_EVERY_MS);
    }
  }

  private async request(nc: NatsConnection): Promise<void> {
    while (this.running) {
      const start = performance.now();
      try {
        await nc.request("user.get", "who", { timeout: REQUEST_TIMEOUT_MS });
        this.requests.push({ start, end: performance.now() });
      } catch (error) {
        this.requests.push({ start, end: performance.now(), error: error instanceof Error ? error.message : String(error) });
        // "no responders" comes back at once; do not spin.
        await sleep(20);
      }
      await sleep(PUBLISH_EVERY_MS);
    }
  }

  /** Figures so far; `since` (performance.now()) splits "received since" for the subscribers. */
  report(since: number): { published: number; subscribers: SubscriberReport[]; requests: RequestReport; reconnects: Record<string, number> } {
    const explains = (outages: Outage[], start: number, end: number) => outages.some(([down, up]) => start <= up + AFTER_RECONNECT_SLACK_MS && end >= down);
    const responders = this.tracked.filter((t) => t.name.startsWith("responder-"));
    const requester = this.tracked.find((t) => t.name === "requester")!;
    const failed = this.requests.filter((r) => r.error !== undefined);
    const unexplained = failed
      .filter((r) => !explains(requester.outages, r.start, r.end) && !responders.some((t) => explains(t.outages, r.start, r.end)))
      .map((r) => ({ at: Math.round(r.start), error: r.error! }));
    const answeredAt = this.requests.filter((r) => r.error === undefined).map((r) => r.end);
    let longestGapMs = 0;
    for (let i = 1; i < answeredAt.length; i++) longestGapMs = Math.max(longestGapMs, answeredAt[i] - answeredAt[i - 1]);
    return {
      published: this.published,
      subscribers: this.subscribers.map(({ tracked, times }) => ({
        name: tracked.name,
        received: times.length,
        receivedSince: times.filter((t) => t > since).length,
        reconnects: tracked.reconnects,
        closedEarly: tracked.closedEarly,
      })),
      requests: { sent: this.requests.length, answered: answeredAt.length, failed: failed.length, unexplained, longestGapMs: Math.round(longestGapMs) },
      reconnects: Object.fromEntries(this.tracked.map((t) => [t.name, t.reconnects])),
    };
  }

  /**
   * Stops publishing and requesting, then waits (at most `timeoutMs`) until every subscriber has
   * what was published: afterwards, a subscriber short of `published` lost messages.
   */
  async quiesce(timeoutMs = 5_000): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.tracked.find((t) => t.name === "publisher")?.nc.flush();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && this.subscribers.some((s) => s.times.length < this.published)) await sleep(50);
  }

  /** Connections still open (not closed by the client giving up). */
  closedEarly(): string[] {
    return this.tracked.filter((t) => t.closedEarly || t.nc.isClosed()).map((t) => t.name);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.tracked.map((t) => t.nc.close()));
  }
}
