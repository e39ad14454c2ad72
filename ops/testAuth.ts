// Does the live server enforce, for every declared service, exactly what the stack config
// declares? Per node and per service, as that service (its own password, its own connections),
// and without delivering a message to anyone (but, where another's inbox is open to it, a canary
// to the service itself):
//  - its password connects, and a wrong one is refused with "Authorization Violation";
//  - its effective permissions equal the declared ones (config/users.ts natsUsers);
//  - it cannot read another user's replies (ops/testAuthInboxes.ts).
//
// How the permissions are read (checked on nats-server 2.14.10, server/events.go userInfoReq):
// `$SYS.REQ.USER.INFO` answers a connection with its own account and permissions (allow and
// deny lists, and `responses` for allow_responses), but the request is an ordinary publish, so
// the server refuses it wherever the connection's publish permissions do not allow that subject:
// every declared service, as rendered. Nothing else shows a user's permissions: /connz
// (auth=true, subs=detail) and the system account's CONNZ and ACCOUNTZ requests give the user
// and account, not permissions. So:
//  - where the server answers USER.INFO (the service may publish to it: over-granted, e.g. `>`,
//    or declared), the server's own lists are compared with the declared lists, exactly;
//  - where it refuses, the server is asked for its verdict on probe subjects, each subject any
//    user of the stack may use (wildcards made concrete) plus canaries no one is granted, and
//    each verdict is compared with the verdict of the declared rules. A publish probe carries
//    the reserved reply subject `_R_.…`: the server checks publish permissions first and then
//    drops any client message with such a reply, so it answers "Publish to <subject>" (refused)
//    or "Publish with Reply of <reply>" (allowed) and routes nothing. A subscribe probe is
//    SUB + UNSUB at once: a refusal comes back as an error; an accepted one could only receive
//    a copy of a message during that instant, taking nothing from any real subscriber.
//    allow_responses cannot be seen this way (that needs a request delivered to the service),
//    so responses are reported as not checked.
// Each connection uses the inbox prefix of the service's credentials, as its clients do.
// The server logs each refused probe as a permissions violation; that is expected.
import { connect } from "@nats-io/transport-node";
import { errors, type NatsConnection } from "@nats-io/nats-core";
import type { Credential } from "../config/credentials";
import { INBOX_WILDCARD } from "../config/inboxes";
import { TEST_AUTH_CLIENT_NAME } from "../config/missingIntent";
import type { StackConfig } from "../config/schema";
import { natsUsers, type SubjectRules, type UserPermissions } from "../config/users";
import { inboxPrefixOf, type TargetNode } from "./target";
import { checkInboxes, foreignInboxes, type ForeignInbox, type InboxCheck } from "./testAuthInboxes";

export const USER_INFO_SUBJECT = "$SYS.REQ.USER.INFO";

/** What `allow_responses: true` gives on nats-server 2.14.10 (USER.INFO `responses`: max 1, ttl 2m in ns). */
const ALLOW_RESPONSES_DEFAULTS = { max: 1, ttl: 120_000_000_000 };

/** A concrete token for a wildcard, and subjects no stack grants, to catch wider grants than declared. */
const PROBE_TOKEN = "test-auth";
const CANARIES = ["nats-infra-test-auth.canary", `_INBOX.${PROBE_TOKEN}`, "$JS.API.INFO", "$SYS.REQ.SERVER.PING", USER_INFO_SUBJECT];
const PROBE_REPLY_PREFIX = "_R_.nats-infra-test-auth.";
const TIMEOUT_MS = 5_000;

export type Aspect = "publish" | "subscribe" | "responses";

export interface AspectCheck {
  /** undefined: could not be read (see note). */
  ok?: boolean;
  /** Rules or verdicts only the server has: `allow >` means it lets `>` through and the config does not. */
  serverOnly: string[];
  /** Rules or verdicts only the config has. */
  declaredOnly: string[];
  note?: string;
}

export interface ServiceCheck {
  service: string;
  node: string;
  connects: boolean;
  /** Why it did not connect. */
  error?: string;
  /** Nothing answered on the node's client port. */
  unreachable?: boolean;
  wrongPasswordRefused?: boolean;
  /** How the permissions were read: the server's own lists, or its verdicts on probe subjects. */
  readBy?: "user-info" | "probe";
  probes?: number;
  publish?: AspectCheck;
  subscribe?: AspectCheck;
  responses?: AspectCheck;
  /** Whether it can read replies meant for others: ops/testAuthInboxes.ts. */
  inboxes?: InboxCheck;
}

export interface TestAuthResult {
  checks: ServiceCheck[];
  /** Nodes whose client port did not answer at all. */
  unreachable: string[];
  /** Not failures: what the stack config itself allows and should not stay that way (services sharing `_INBOX.>`). */
  warnings: string[];
}

export const ASPECTS: Aspect[] = ["publish", "subscribe", "responses"];

/** Whether a check found a problem: no connection, a wrong password let in, a mismatch, or another's replies readable. */
export function failed(check: ServiceCheck): boolean {
  return !check.connects || check.wrongPasswordRefused !== true || ASPECTS.some((a) => check[a]?.ok === false) || check.inboxes?.ok === false;
}

export async function testAuth(config: StackConfig, nodes: TargetNode[], credentials: Record<string, Credential>): Promise<TestAuthResult> {
  const users = natsUsers(config);
  const probes = probeSubjects(config);
  const checks: ServiceCheck[] = [];
  const unreachable: string[] = [];
  for (const node of nodes) {
    for (const service of config.services) {
      const declared = users.find((u) => u.user === service.name)!.permissions;
      const check = await checkService(node, service.name, credentials[service.name], declared, probes, foreignInboxes(config, service));
      checks.push(check);
      // A node that does not answer: one row says so; the other services would say the same.
      if (check.unreachable) {
        unreachable.push(node.name);
        break;
      }
    }
  }
  return { checks, unreachable, warnings: sharedInboxWarnings(config) };
}

async function checkService(
  node: TargetNode,
  service: string,
  credential: Credential | undefined,
  declared: UserPermissions,
  probes: Probes,
  foreign: ForeignInbox[],
): Promise<ServiceCheck> {
  const base = { service, node: node.name };
  if (!credential) return { ...base, connects: false, error: "no credentials for this service in the target" };
  const login = { user: service, pass: credential.password, inboxPrefix: inboxPrefixOf(credential) };
  let nc: NatsConnection;
  try {
    nc = await open(node.clientUrl, login);
  } catch (error) {
    const outcome = outcomeOf(error);
    if (outcome === "unreachable") return { ...base, connects: false, unreachable: true, error: `${node.clientUrl}: ${(error as Error).message}` };
    return { ...base, connects: false, error: outcome === "refused" ? "Authorization Violation" : (outcome as { error: string }).error };
  }
  try {
    const wrongPasswordRefused = (await tryPassword(node.clientUrl, service, `${credential.password}-wrong`)) === "refused";
    const info = await askUserInfo(nc);
    // On the same connection, now that USER.INFO is answered: refusals leave it usable.
    const inboxes = await checkInboxes(nc, foreign);
    if (info.permissions) {
      return { ...base, connects: true, wrongPasswordRefused, readBy: "user-info", ...compareLists(declared, info.permissions), inboxes };
    }
    const verdicts = await withConnection(node.clientUrl, login, (probing) => probe(probing, service, probes));
    const refusal = `${USER_INFO_SUBJECT} refused (${info.refusal})`;
    return {
      ...base,
      connects: true,
      wrongPasswordRefused,
      readBy: "probe",
      probes: probes.publish.length + probes.subscribe.length,
      ...compareVerdicts(declared, verdicts, refusal),
      inboxes,
    };
  } finally {
    await nc.close();
  }
}

interface Login {
  user: string;
  pass: string;
  /** Where replies arrive (USER.INFO is a request); the clients' default unless given. */
  inboxPrefix?: string;
}

function open(url: string, login: Login): Promise<NatsConnection> {
  return connect({ servers: [url], ...login, name: TEST_AUTH_CLIENT_NAME, reconnect: false, ignoreClusterUpdates: true, timeout: TIMEOUT_MS });
}

/** A connection of its own for `use`, closed after. */
async function withConnection<T>(url: string, login: Login, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await open(url, login);
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

/** What the server at `url` says to `user` with `password`: let in, refused (Authorization Violation), or nothing. */
export type PasswordOutcome = "accepted" | "refused" | "unreachable" | { error: string };

export async function tryPassword(url: string, user: string, password: string): Promise<PasswordOutcome> {
  try {
    await (await open(url, { user, pass: password })).close();
    return "accepted";
  } catch (error) {
    return outcomeOf(error);
  }
}

function outcomeOf(error: unknown): Exclude<PasswordOutcome, "accepted"> {
  if (error instanceof errors.AuthorizationError) return "refused";
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError) return "unreachable";
  return { error: error instanceof Error ? error.message : String(error) };
}

/** The server's permissions as USER.INFO gives them (nats-server auth.go Permissions). */
interface ServerPermissions {
  publish?: SubjectRules;
  subscribe?: SubjectRules;
  responses?: { max: number; ttl: number };
}

async function askUserInfo(nc: NatsConnection): Promise<{ permissions?: ServerPermissions; refusal?: string }> {
  try {
    const reply = await nc.request(USER_INFO_SUBJECT, "", { timeout: TIMEOUT_MS });
    const answer = reply.json<{ data?: { permissions?: ServerPermissions }; error?: { description?: string } }>();
    if (!answer.data) return { refusal: answer.error?.description ?? "no data in the answer" };
    // No permissions at all: the user may do everything.
    return { permissions: answer.data.permissions ?? {} };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return { refusal: cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error) };
  }
}

/** Allow and deny as the server applies them: no allow list means everything (`>`). */
interface Rules {
  allow: string[];
  deny: string[];
}

function declaredRules(declared: UserPermissions, aspect: "publish" | "subscribe"): Rules {
  const rules = declared[aspect];
  // allow_responses without a publish allow list denies every other publish (nats-server opts.go).
  const everything = aspect === "subscribe" || !declared.allowResponses ? [">"] : [];
  return { allow: rules.allow ?? everything, deny: rules.deny ?? [] };
}

function serverRules(permissions: ServerPermissions, aspect: "publish" | "subscribe"): Rules {
  const rules = permissions[aspect];
  const everything = aspect === "publish" && permissions.responses ? [] : [">"];
  return { allow: rules?.allow ?? everything, deny: rules?.deny ?? [] };
}

function compareLists(declared: UserPermissions, server: ServerPermissions): Record<Aspect, AspectCheck> {
  const lists = (aspect: "publish" | "subscribe"): AspectCheck => {
    const want = declaredRules(declared, aspect);
    const have = serverRules(server, aspect);
    const serverOnly = [...missing(have.allow, want.allow).map((s) => `allow ${s}`), ...missing(have.deny, want.deny).map((s) => `deny ${s}`)];
    const declaredOnly = [...missing(want.allow, have.allow).map((s) => `allow ${s}`), ...missing(want.deny, have.deny).map((s) => `deny ${s}`)];
    return { ok: serverOnly.length === 0 && declaredOnly.length === 0, serverOnly, declaredOnly };
  };
  const wantResponses = declared.allowResponses ? ALLOW_RESPONSES_DEFAULTS : undefined;
  const describe = (r?: { max: number; ttl: number }) => (r ? [`allow_responses max ${r.max} ttl ${r.ttl / 1e9}s`] : []);
  const same = JSON.stringify(wantResponses) === JSON.stringify(server.responses && { max: server.responses.max, ttl: server.responses.ttl });
  const responses: AspectCheck = same ? { ok: true, serverOnly: [], declaredOnly: [] } : { ok: false, serverOnly: describe(server.responses), declaredOnly: describe(wantResponses) };
  return { publish: lists("publish"), subscribe: lists("subscribe"), responses };
}

/** Entries of `list` that `other` lacks. */
const missing = (list: string[], other: string[]) => [...new Set(list)].filter((s) => !other.includes(s));

interface Probes {
  publish: string[];
  subscribe: string[];
}

/**
 * Every subject any user of the stack may use, each wildcard made one concrete token, plus the
 * canaries; subscriptions also as the declared patterns themselves (what clients subscribe to)
 * and `>`, which only an allow of `>` (or a one-token `*`) admits.
 */
export function probeSubjects(config: StackConfig): Probes {
  const patterns = natsUsers(config).flatMap((u) => [u.permissions.publish, u.permissions.subscribe].flatMap((r) => [...(r.allow ?? []), ...(r.deny ?? [])]));
  patterns.push(...config.streams.flatMap((s) => s.subjects));
  const concrete = [...patterns.map((p) => p.split(".").map((t) => (t === "*" || t === ">" ? PROBE_TOKEN : t)).join(".")), ...CANARIES];
  const declaredSubscriptions = natsUsers(config).flatMap((u) => u.permissions.subscribe.allow ?? []);
  return { publish: unique(concrete), subscribe: unique([...concrete, ...declaredSubscriptions, ">"]) };
}

/**
 * Whether nats-server's sublist matches `subject` against `pattern` (client.go pubAllowed and
 * canSubscribe): the subject's tokens are taken literally, so a subscription's own `*` or `>` is
 * matched only by a wildcard of the pattern.
 */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const permits = (rules: Rules, subject: string) => rules.allow.some((p) => matches(p, subject)) && !rules.deny.some((p) => matches(p, subject));

interface Verdicts {
  publish: Map<string, boolean>;
  subscribe: Map<string, boolean>;
}

/** The server's verdict on every probe subject, on a connection of its own (`nc`), with nothing routed. */
async function probe(nc: NatsConnection, user: string, probes: Probes): Promise<Verdicts> {
  const answers: string[] = [];
  // Ends when the connection closes.
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") answers.push(status.error.message);
  })();
  probes.publish.forEach((subject, i) => nc.publish(subject, "", { reply: `${PROBE_REPLY_PREFIX}${i}` }));
  for (const subject of probes.subscribe) nc.subscribe(subject, { callback: () => undefined }).unsubscribe();
  // The server answers one connection's protocol in order: after the PONG every -ERR is read.
  await nc.flush();
  // Status events are handed to the iterator through promises: let them all land.
  await new Promise((resolve) => setImmediate(resolve));
  const publish = new Map<string, boolean>();
  probes.publish.forEach((subject, i) => {
    const allowed = answers.includes(`Permissions Violation for Publish with Reply of "${PROBE_REPLY_PREFIX}${i}"`);
    const refused = answers.includes(`Permissions Violation for Publish to "${subject}"`);
    // Exactly one of the two answers comes back for every probe; anything else is no verdict.
    if (allowed === refused) throw new Error(`test-auth: no clear answer from the server to the publish probe ${subject} as ${user}`);
    publish.set(subject, allowed);
  });
  const subscribe = new Map(probes.subscribe.map((s) => [s, !answers.includes(`Permissions Violation for Subscription to "${s}"`)]));
  return { publish, subscribe };
}

function compareVerdicts(declared: UserPermissions, verdicts: Verdicts, refusal: string): Record<Aspect, AspectCheck> {
  const compare = (aspect: "publish" | "subscribe"): AspectCheck => {
    const rules = declaredRules(declared, aspect);
    const serverOnly: string[] = [];
    const declaredOnly: string[] = [];
    for (const [subject, allowed] of verdicts[aspect]) {
      if (allowed && !permits(rules, subject)) serverOnly.push(`allow ${subject}`);
      if (!allowed && permits(rules, subject)) declaredOnly.push(`allow ${subject}`);
    }
    return { ok: serverOnly.length === 0 && declaredOnly.length === 0, serverOnly, declaredOnly, note: `${verdicts[aspect].size} probe subjects` };
  };
  const responses: AspectCheck = { serverOnly: [], declaredOnly: [], note: `not checked: ${refusal}, and allow_responses shows only when a request reaches the service` };
  return { publish: compare("publish"), subscribe: compare("subscribe"), responses };
}

/**
 * Per account, the services the stack config lets subscribe to `_INBOX.>` (inbox shared or both,
 * or allows that reach it), when there are two or more: each can read the others' replies. A
 * warning, not a failure: that is what `shared` means, and stacks move off it service by service.
 */
export function sharedInboxWarnings(config: StackConfig): string[] {
  const sharing = natsUsers(config).filter((u) => u.role === "service" && permits(declaredRules(u.permissions, "subscribe"), INBOX_WILDCARD));
  return [...new Set(sharing.map((u) => u.account))].flatMap((account) => {
    const names = sharing.filter((u) => u.account === account).map((u) => u.user);
    if (names.length < 2) return [];
    return [
      `services ${names.join(", ")} of account ${account} share ${INBOX_WILDCARD}: each can read the others' replies (KV and object reads included). ` +
        `docs/inboxes.md says how to move them to private inboxes.`,
    ];
  });
}

const unique = (values: string[]) => [...new Set(values)];
