// Every NATS user the deployment has: one per declared service plus the internal users that
// nats-infra itself needs. Permissions are computed here once, so the auth renderer, the preview
// summary, the policies and the tests all read the same answer.
import { SYSTEM_ACCOUNT, type ServiceConfig, type StackConfig } from "./schema";
import { subjectCovers, subjectsOverlap } from "./subjects";
import { jetstreamGrant, type JetStreamGrant, type JetStreamIntent } from "./jetstreamIntent";
import { kvStreamName, objectStreamName } from "./streams";
import { OBSERVER_ACCOUNT, OBSERVER_INBOX_PREFIX, OBSERVER_USER, observerPublish } from "./observer";
import { INBOX_WILDCARD, inboxSubjects, privateInboxPrefix, SHARED_INBOX_PREFIX, serviceInboxGrants, serviceInboxPrefix } from "./inboxes";

export { INBOX_WILDCARD };

export interface SubjectRules {
  allow?: string[];
  deny?: string[];
}

export interface UserPermissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
  /** nats-server `allow_responses`: may publish one reply to each request it received. */
  allowResponses: boolean;
}

export type UserRole = "service" | "surveyor" | "tools" | "jetstream-admin" | "observer" | "auth-events";

export interface NatsUser {
  user: string;
  account: string;
  role: UserRole;
  permissions: UserPermissions;
  /** The inbox prefix its clients must connect with (config/inboxes.ts): replies arrive under it. */
  inboxPrefix: string;
  /** Other users' private inboxes its subscribe allows reach into, denied (also in permissions). */
  inboxDenies?: string[];
  /** A service's JetStream intent and the subjects compiled from it (already in permissions). */
  jetstream?: { intent: JetStreamIntent; derived: JetStreamGrant };
}

const NOTHING: SubjectRules = { deny: [">"] };

/** Internal user names start with "_", which service names cannot, so the two never clash. */
export const SURVEYOR_USER = "_surveyor";
export const TOOLS_USER = "_tools";
/** The exporter of refused logins (tools/auth-events), beside Prometheus (components/monitoring.ts). */
export const AUTH_EVENTS_USER = "_auth_events";
/** Where nats-server (2.14) publishes each refused login, in the system account; `*` is the server's id. */
export const AUTH_ERROR_SUBJECT = "$SYS.SERVER.*.CLIENT.AUTH.ERR";
export const jetstreamAdminUser = (account: string) => `_jsadmin_${account}`;

/**
 * Every NATS user of a validated config, computed once per config object: the component, the
 * auth renderer and the preview summary each ask for them during one evaluation. The config is
 * never changed after parsing, so the answer cannot go stale; callers must not change it either.
 */
export function natsUsers(config: StackConfig): readonly NatsUser[] {
  let users = usersByConfig.get(config);
  if (!users) usersByConfig.set(config, (users = Object.freeze(computeUsers(config))));
  return users;
}

const usersByConfig = new WeakMap<StackConfig, readonly NatsUser[]>();

function computeUsers(config: StackConfig): NatsUser[] {
  const users = config.services.map((service) => serviceUser(config, service));
  users.push({
    user: SURVEYOR_USER,
    account: SYSTEM_ACCOUNT,
    role: "surveyor",
    // Surveyor has no inbox prefix setting (0.9.11), so it keeps `_INBOX.>`; its replies stay
    // its own because no other user of the system account may subscribe there (the observer
    // has a prefix of its own, and services cannot join the system account).
    inboxPrefix: SHARED_INBOX_PREFIX,
    // Read-only monitoring requests; no RELOAD or other admin subjects of the system account.
    permissions: {
      publish: { allow: ["$SYS.REQ.SERVER.PING", "$SYS.REQ.SERVER.PING.*", "$SYS.REQ.ACCOUNT.PING.*", "$SYS.REQ.ACCOUNT.*.*"] },
      subscribe: { allow: [INBOX_WILDCARD, "$SYS.SERVER.>", "$SYS.ACCOUNT.>"] },
      allowResponses: false,
    },
  });
  users.push({
    user: TOOLS_USER,
    // The first declared account is the default one (APP unless accounts are declared).
    account: config.accounts[0].name,
    role: "tools",
    inboxPrefix: privateInboxPrefix(TOOLS_USER),
    // Inspects the default account's JetStream state, changes nothing. nats-box connected as
    // this user until the observer (below) took its place; its password is kept so that no
    // deployed resource goes away.
    permissions: {
      publish: { allow: ["$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*"] },
      subscribe: { allow: [inboxSubjects(privateInboxPrefix(TOOLS_USER))] },
      allowResponses: false,
    },
  });
  if (config.jetstream.enabled) {
    for (const account of config.accounts.filter((a) => a.jetstream !== false)) {
      const user = jetstreamAdminUser(account.name);
      users.push({ user, account: account.name, role: "jetstream-admin", inboxPrefix: privateInboxPrefix(user), permissions: jetstreamAdminPermissions(config, account.name) });
    }
  }
  // Only with Prometheus on, which runs the exporter: a stack without monitoring gets no new
  // password and no auth.conf change when nats-infra is upgraded.
  if (config.monitoring.prometheus.enabled) {
    users.push({
      user: AUTH_EVENTS_USER,
      account: SYSTEM_ACCOUNT,
      role: "auth-events",
      inboxPrefix: privateInboxPrefix(AUTH_EVENTS_USER),
      // Listens to the refused-login events and nothing else of the system account; it publishes
      // nothing (nats.go needs no publish permission to subscribe, and it makes no request).
      permissions: {
        publish: NOTHING,
        subscribe: { allow: [AUTH_ERROR_SUBJECT, inboxSubjects(privateInboxPrefix(AUTH_EVENTS_USER))] },
        allowResponses: false,
      },
    });
  }
  users.push({
    user: OBSERVER_USER,
    account: OBSERVER_ACCOUNT,
    role: "observer",
    inboxPrefix: OBSERVER_INBOX_PREFIX,
    // natscli's operator checks and reports, read-only (config/observer.ts says which command needs what).
    permissions: {
      publish: { allow: observerPublish(config) },
      subscribe: { allow: [`${OBSERVER_INBOX_PREFIX}.>`] },
      allowResponses: false,
    },
  });
  return withPrivateInboxesDenied(users);
}

function serviceUser(config: StackConfig, service: ServiceConfig): NatsUser {
  const { publish, subscribe, derived } = serviceAllows(config, service);
  const user: NatsUser = {
    user: service.name,
    account: service.account,
    role: "service",
    inboxPrefix: serviceInboxPrefix(config, service),
    permissions: {
      // allow_responses alone already denies every other publish, so an empty list needs no deny.
      publish: publish.length ? { allow: publish } : service.responses ? {} : NOTHING,
      subscribe: subscribe.length ? subscribeRules(subscribe) : NOTHING,
      allowResponses: service.responses,
    },
  };
  if (service.jetstream) user.jetstream = { intent: service.jetstream, derived };
  return user;
}

/**
 * What a service may publish and subscribe to before wildcard denies: its raw subjects, then the
 * subjects its JetStream intent compiles to, then its inbox when it makes requests (`_INBOX.>`,
 * its own prefix, or both: config/inboxes.ts). Raw subjects come first so that a service without
 * intent keeps exactly the lists it always had.
 */
export function serviceAllows(config: StackConfig, service: ServiceConfig): { publish: string[]; subscribe: string[]; derived: JetStreamGrant } {
  const derived = jetstreamGrant(config, service);
  const subscribe = [...service.subscribe, ...derived.subscribe];
  return {
    publish: unique([...service.publish, ...derived.publish]),
    subscribe: unique(service.requests ? [...subscribe, ...serviceInboxGrants(config, service)] : subscribe),
    derived,
  };
}

/**
 * nats-server checks a subscription against the allow list by matching the subscription's own
 * subject as if it were a message subject, so the `>` of a subscription to `events.>` matches
 * the trailing `*` of an allow `events.*`: the subscription is accepted and then delivers
 * `events.a.b` too (seen on 2.14.10). A deny of `events.*.>` closes that gap: the server then
 * filters each delivery on such a wildcard subscription, so the service receives exactly what
 * `events.*` matches. The deny is left out where another allow reaches into `events.*.>`, since a
 * deny would take that allow away (validate.ts warns about that case).
 */
function subscribeRules(allow: string[]): SubjectRules {
  const deny = allow
    .filter((subject) => subject.split(".").pop() === "*")
    .map((subject) => `${subject}.>`)
    .filter((deeper) => !allow.some((other) => subjectsOverlap(other, deeper)));
  return deny.length ? { allow, deny: unique(deny) } : { allow };
}

/** Subscribe allows whose trailing `*` also lets a `>` subscription through, unfixable by a deny. */
export function unboundedTrailingWildcards(allow: string[]): { subject: string; overlapping: string }[] {
  return allow.flatMap((subject) => {
    if (subject.split(".").pop() !== "*") return [];
    const deeper = `${subject}.>`;
    if (allow.some((other) => subjectCovers(other, deeper))) return [];
    const overlapping = allow.find((other) => subjectsOverlap(other, deeper));
    return overlapping ? [{ subject, overlapping }] : [];
  });
}

/**
 * What backing up and restoring stream S takes, besides stream and consumer info: the snapshot
 * and its chunk acknowledgements, one message at a time for the content hash, the restore and
 * its chunks. Replacing a stream (restore --force) also needs $JS.API.STREAM.DELETE.S, granted
 * only when the stream says allowDelete.
 */
export function backupSubjects(stream: string): string[] {
  return [
    `$JS.API.STREAM.SNAPSHOT.${stream}`,
    `$JS.SNAPSHOT.ACK.${stream}.>`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.STREAM.RESTORE.${stream}`,
    `$JS.SNAPSHOT.RESTORE.${stream}.*`,
  ];
}

/** The accounts whose JetStream admin has something to manage: streams, KV buckets or object stores. */
export function managedJetStreamAccounts(config: StackConfig): string[] {
  return [...new Set([...config.streams, ...config.kv, ...config.objectStores].map((s) => s.account))];
}

/**
 * The streams a JetStream admin owns in one account: the declared streams, then the streams
 * under its KV buckets (KV_<bucket>) and object stores (OBJ_<store>). The reconciler, backup and
 * restore may touch these and no others.
 */
export function adminStreams(config: StackConfig, account: string): { name: string; allowDelete: boolean; consumers: string[] }[] {
  return [
    ...config.streams.filter((s) => s.account === account).map((s) => ({ name: s.name, allowDelete: s.allowDelete, consumers: s.consumers.map((c) => c.name) })),
    ...config.kv.filter((b) => b.account === account).map((b) => ({ name: kvStreamName(b.bucket), allowDelete: b.allowDelete, consumers: [] })),
    ...config.objectStores.filter((o) => o.account === account).map((o) => ({ name: objectStreamName(o.store), allowDelete: o.allowDelete, consumers: [] })),
  ];
}

/**
 * The stream reconciler's and the backup's user in one account (streams/, ops/backup.ts). Least
 * privilege, scoped to the streams, consumers, KV buckets and object stores the config declares
 * for this account (adminStreams): it can read their state, create and update them, list the
 * account's streams (to report the ones the config does not know), and snapshot and restore them
 * (backupSubjects). It can delete a stream or one of its declared consumers only when that stream
 * says `allowDelete`. It cannot publish application messages, purge, create any other consumer,
 * or touch an undeclared stream. It can read a declared stream's messages: a snapshot holds every
 * one of them anyway, and the backup hashes them one by one. (A user of its own for backups would
 * give every deployed stack a new password on upgrade.)
 */
export function jetstreamAdminPermissions(config: StackConfig, account: string): UserPermissions {
  const api = "$JS.API";
  const allow = [`${api}.INFO`, `${api}.STREAM.LIST`];
  // The stream under a KV bucket or object store is created, updated, backed up and restored
  // like any other; as with streams, backing it up means the admin reads its data.
  for (const { name: s, allowDelete, consumers } of adminStreams(config, account)) {
    allow.push(`${api}.STREAM.INFO.${s}`, `${api}.STREAM.CREATE.${s}`, `${api}.STREAM.UPDATE.${s}`, `${api}.CONSUMER.LIST.${s}`);
    if (allowDelete) allow.push(`${api}.STREAM.DELETE.${s}`);
    allow.push(...backupSubjects(s));
    for (const c of consumers) {
      // CREATE.<s>.<c>[.<filter>] is the current API; DURABLE.CREATE is what clients use for
      // several filter subjects. Both create or update only the consumer named here.
      allow.push(`${api}.CONSUMER.INFO.${s}.${c}`, `${api}.CONSUMER.CREATE.${s}.${c}`, `${api}.CONSUMER.CREATE.${s}.${c}.>`, `${api}.CONSUMER.DURABLE.CREATE.${s}.${c}`);
      if (allowDelete) allow.push(`${api}.CONSUMER.DELETE.${s}.${c}`);
    }
  }
  return {
    publish: { allow: unique(allow) },
    subscribe: { allow: [inboxSubjects(privateInboxPrefix(jetstreamAdminUser(account)))] },
    allowResponses: false,
  };
}

/**
 * A private inbox is private only if no one else may subscribe there. Every other user of the
 * account whose subscribe allows reach into it gets it denied: nats-server then refuses a
 * subscription inside it and filters it out of a wider one. For another service's inbox that is
 * not enough, and config/validate.ts refuses such a wildcard before this runs: JetStream's pushes
 * into an inbox arrive under the stream's subject, which a deny does not match. nats-infra's own
 * users receive only replies and snapshot chunks, under the inbox subject, so here the deny holds.
 * Publishing into an inbox stays as the allows say: a reply subject ends in a random token its
 * owner alone receives, and a publish deny there would also stop a responder whose allows are
 * that wide from answering a request it received on two of its subscriptions (nats-server
 * 2.14.10 refuses that reply: test/inboxes/denyAndRespond.server.test.ts). A user whose own
 * replies are private (any prefix but `_INBOX`) likewise gets `_INBOX.>` denied where its allows
 * reach into it. Stacks whose users all share `_INBOX` get no deny at all.
 */
function withPrivateInboxesDenied(users: NatsUser[]): NatsUser[] {
  const privateNamespaces = (account: string) =>
    users.filter((u) => u.account === account && u.inboxPrefix !== SHARED_INBOX_PREFIX).map((u) => ({ owner: u.user, subjects: inboxSubjects(u.inboxPrefix) }));
  return users.map((user) => {
    const closed = privateNamespaces(user.account).filter((n) => n.owner !== user.user).map((n) => n.subjects);
    // A service in "both" mode is granted `_INBOX.>` on purpose, while its clients move.
    if (user.inboxPrefix !== SHARED_INBOX_PREFIX && !(user.permissions.subscribe.allow ?? []).includes(INBOX_WILDCARD)) closed.push(INBOX_WILDCARD);
    const denied = reachedBy(user.permissions.subscribe, closed);
    if (!denied.length) return user;
    const subscribe = { ...user.permissions.subscribe, deny: unique([...(user.permissions.subscribe.deny ?? []), ...denied]) };
    return { ...user, permissions: { ...user.permissions, subscribe }, inboxDenies: denied };
  });
}

/** Which of `closed` one of the allows of `rules` reaches. */
function reachedBy(rules: SubjectRules, closed: string[]): string[] {
  const allow = rules.allow ?? [];
  return closed.filter((subjects) => allow.some((a) => subjectsOverlap(a, subjects)));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
