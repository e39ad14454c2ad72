// Can a service read another user's replies on the live server (docs/inboxes.md)? A reply is
// published under its requester's inbox prefix, so whoever may subscribe there reads it. As the
// service, on its own connection, test-auth subscribes to every other private prefix of its
// account (services' and nats-infra's own users') and, where the service's own inbox is private,
// to the shared `_INBOX.>`: the server must refuse each.
//
// A subscription the server accepts is not yet a leak: nats-server also accepts a subscription
// that a narrower deny reaches into and then filters each delivery against the deny (config/
// users.ts subscribeRules). So the service then publishes canaries into that inbox, shaped as
// reply subjects are, with a random token: `<prefix>.<nuid>` and `<prefix>.<nuid>.1`. No client's
// reply subscription matches them (each has a random token of its own), and a deny cannot filter
// both shapes without also refusing the subscription itself. If its subscription receives one,
// the service can read replies there. If it may not publish there, the accepted subscription
// alone is reported: nothing then shows the server filtering it.
import { nuid, type Msg, type NatsConnection } from "@nats-io/nats-core";
import { INBOX_WILDCARD, inboxSubjects, SHARED_INBOX_PREFIX, serviceInboxMode } from "../config/inboxes";
import type { ServiceConfig, StackConfig } from "../config/schema";
import { natsUsers } from "../config/users";

/** The owner named for `_INBOX.>`: every client of the account on the clients' default prefix. */
export const SHARED_INBOX_OWNER = SHARED_INBOX_PREFIX;

/** An inbox a service must not read: its subscription subject, and whose replies arrive there. */
export interface ForeignInbox {
  subject: string;
  /** A user name, or SHARED_INBOX_OWNER for `_INBOX.>`. */
  owner: string;
}

export interface ReadableInbox extends ForeignInbox {
  /** received: a canary published there reached the service; subscribed: accepted, and the service may not publish a canary there. */
  proof: "received" | "subscribed";
}

export interface InboxCheck {
  ok: boolean;
  /** The subscriptions tried. */
  tried: string[];
  /** Those the server let the service read. */
  readable: ReadableInbox[];
  /** Accepted as subscriptions, but the server filtered the canaries out of them (a deny inside). */
  filtered: string[];
}

/** The inboxes a service must not subscribe to: others' private prefixes in its account, and `_INBOX.>` unless it is granted (shared or both). */
export function foreignInboxes(config: StackConfig, service: ServiceConfig): ForeignInbox[] {
  const others = natsUsers(config)
    .filter((u) => u.account === service.account && u.user !== service.name && u.inboxPrefix !== SHARED_INBOX_PREFIX)
    .map((u) => ({ subject: inboxSubjects(u.inboxPrefix), owner: u.user }));
  return serviceInboxMode(config, service) === "private" ? [{ subject: INBOX_WILDCARD, owner: SHARED_INBOX_OWNER }, ...others] : others;
}

/** Subjects under the inbox `subjects` (`<prefix>.>`) as reply subjects look: one request's, one of a client's muxed inbox. */
const canaries = (subjects: string) => {
  const token = `${subjects.slice(0, -2)}.${nuid.next()}`;
  return [token, `${token}.1`];
};

/**
 * Tries each inbox on `nc`, a connection of the service's own with no request in flight: the
 * server's answers are read from its status stream from here on.
 */
export async function checkInboxes(nc: NatsConnection, inboxes: ForeignInbox[]): Promise<InboxCheck> {
  const answers: string[] = [];
  // Ends when the connection closes.
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") answers.push(status.error.message);
  })();
  const settle = async () => {
    // The server answers one connection's protocol in order: after the PONG every -ERR and every
    // message routed to it before is read; status events land through promises.
    await nc.flush();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const received = new Map<string, string[]>(inboxes.map((i) => [i.subject, []]));
  for (const { subject } of inboxes) nc.subscribe(subject, { callback: (error: Error | null, msg: Msg) => void (error || received.get(subject)!.push(msg.subject)) });
  await settle();
  const accepted = inboxes.filter((i) => !answers.includes(`Permissions Violation for Subscription to "${i.subject}"`));
  const published = new Map(accepted.map((i) => [i.subject, canaries(i.subject)]));
  for (const subjects of published.values()) for (const canary of subjects) nc.publish(canary, "");
  await settle();
  const readable: ReadableInbox[] = [];
  const filtered: string[] = [];
  for (const inbox of accepted) {
    const sent = published.get(inbox.subject)!.filter((canary) => !answers.includes(`Permissions Violation for Publish to "${canary}"`));
    if (received.get(inbox.subject)!.some((subject) => sent.includes(subject))) readable.push({ ...inbox, proof: "received" });
    else if (sent.length === 0) readable.push({ ...inbox, proof: "subscribed" });
    else filtered.push(inbox.subject);
  }
  return { ok: readable.length === 0, tried: inboxes.map((i) => i.subject), readable, filtered };
}
