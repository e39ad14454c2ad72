// Asks the real nats-server what a user may do. Nothing here reads our own permission code: a
// verdict comes from the server's behaviour, seen from two sides at once.
//  - The user's own connection: the server answers a forbidden PUB or SUB with an asynchronous
//    `-ERR 'Permissions Violation ...'`, which the client reports on `status()`.
//  - An observer user in the same account (added to the stack config by `withObservers`, with
//    publish and subscribe on `>`): it receives what the user really published, and publishes
//    what the user's subscription should (or should not) receive.
// Both sides must agree, or the probe throws: "no error" alone could mean a lost error.
//
// Ordering makes it deterministic without sleeps: the server handles one connection's protocol
// in order and writes its answers in order, so after `flush()` (PING/PONG) every `-ERR` for what
// was sent before has been read, and every message routed to a connection before its PONG has
// been delivered.
import { inboxPrefixOf } from "./login";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { natsUsers } from "../../config/users";
import type { RunningNats } from "./natsServer";
import { checkConfigFile, startNats, TEST_BCRYPT_COST } from "./natsServer";
import { reconcileDeclared } from "./reconcileDeclared";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseStackConfig } from "../../config/load";
import { writeRenderedFiles } from "../../ops/files";
import { hashPasswords, renderFiles } from "../../render/files";

export { OBSERVER_PREFIX, withObservers } from "./probeObservers";
import { OBSERVER_PREFIX, withObservers } from "./probeObservers";

/** Renders raw stack config (as declared, no observers) into a temp dir and runs `nats-server -t`. */
export function checkStackConfig(raw: Record<string, unknown>): { ok: boolean; output: string } {
  const { config } = parseStackConfig(raw);
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-check-"));
  try {
    const hashes = hashPasswords(config, (user) => `pw-${user}`, TEST_BCRYPT_COST);
    // The local target with ports the config declares; `-t` only parses and checks, it binds nothing.
    const files = writeRenderedFiles(dir, renderFiles(config, hashes, { kind: "local", dir }));
    return checkConfigFile(files.natsConf);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ProbedNats {
  nats: RunningNats;
  probe: PermissionProbe;
  /**
   * A new connection for `user` with its test password and inbox prefix (`inboxPrefix`: another
   * one; null: the client's default `_INBOX`); `close()` closes it.
   */
  as(user: string, inboxPrefix?: string | null): Promise<NatsConnection>;
  /** Closes the connections `as` opened, then the probe, then stops the server. */
  close(): Promise<void>;
}

/**
 * Starts nats-server from `withObservers(raw)`, has the reconciler's user create the declared
 * streams (with their consumers), KV buckets and object stores, as on a deployment, and opens a
 * PermissionProbe on it. If a step after the start fails, the server is stopped before the error
 * is thrown.
 */
export async function startProbed(raw: Record<string, unknown>): Promise<ProbedNats> {
  const nats = await startNats(withObservers(raw));
  let probe: PermissionProbe;
  try {
    await reconcileDeclared(parseStackConfig(raw).config, nats.url, nats.passwords);
    probe = await PermissionProbe.open(nats);
  } catch (err) {
    await nats.stop();
    throw err;
  }
  const open: NatsConnection[] = [];
  return {
    nats,
    probe,
    async as(user, inboxPrefix) {
      const nc = await probe.connectAs(user, undefined, inboxPrefix);
      open.push(nc);
      return nc;
    },
    async close() {
      await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
      await probe.close();
      await nats.stop();
    },
  };
}

/** What the clients' errors say when the server refused an operation for lack of permission. */
export const VIOLATION = /Permissions Violation|permission/i;

export interface PublishVerdict {
  subject: string;
  allowed: boolean;
}

export interface SubscribeVerdict {
  pattern: string;
  /** The message subject the observer published while the subscription was open. */
  subject: string;
  /** The server refused the subscription with a permissions violation. */
  rejected: boolean;
  /** The subscription received the observer's message. */
  received: boolean;
}

interface Client {
  nc: NatsConnection;
  /** Permission-violation texts in the order the server sent them. */
  errors: string[];
}

/** Bounds every probe run; a hung server must fail the test, not stall it. */
const MAX_CASES_PER_CALL = 2_000;

export class PermissionProbe {
  private readonly clients = new Map<string, Client>();
  private readonly observers = new Map<string, { nc: NatsConnection; seen: Map<string, string> }>();
  private readonly accountOf = new Map<string, string>();
  private counter = 0;

  private constructor(private readonly nats: RunningNats) {
    for (const user of natsUsers(nats.config)) this.accountOf.set(user.user, user.account);
  }

  /** `nats` must have been started from `withObservers(...)` config. */
  static async open(nats: RunningNats): Promise<PermissionProbe> {
    const probe = new PermissionProbe(nats);
    const accounts = [...new Set(nats.config.accounts.map((a) => a.name))];
    for (const [i, account] of accounts.entries()) {
      const user = `${OBSERVER_PREFIX}${i}`;
      if (probe.accountOf.get(user) !== account) throw new Error(`start the server from withObservers(config): no observer for account ${account}`);
      const nc = await probe.connectAs(user);
      const seen = new Map<string, string>();
      nc.subscribe(">", { callback: (err, msg) => void (!err && seen.set(msg.string(), msg.subject)) });
      await nc.flush();
      probe.observers.set(account, { nc, seen });
    }
    return probe;
  }

  /** A connection for `user` with its test password; errors are collected for the probe. */
  async connectAs(user: string, pass = this.nats.passwords[user], inboxPrefix: string | null = inboxPrefixOf(this.nats.config, user)): Promise<NatsConnection> {
    return connect({ servers: this.nats.url, user, pass, ...(inboxPrefix === null ? {} : { inboxPrefix }), reconnect: false, name: `probe:${user}` });
  }

  /** For each subject: could `user` publish it? (Observed in its account, and no violation.) */
  async publish(user: string, subjects: string[]): Promise<PublishVerdict[]> {
    bound(subjects.length);
    const client = await this.client(user);
    const observer = this.observerFor(user);
    const verdicts: PublishVerdict[] = [];
    for (const subject of subjects) {
      const token = this.nextToken();
      const before = client.errors.length;
      client.nc.publish(subject, token);
      await settle(client.nc);
      await settle(observer.nc);
      const violations = client.errors.slice(before);
      const denied = violations.some((text) => isViolationFor(text, "Publish", subject));
      const observed = observer.seen.get(token);
      if (observed !== undefined && observed !== subject) {
        throw new Error(`${user} published ${JSON.stringify(subject)} but the observer saw it on ${JSON.stringify(observed)}`);
      }
      if (violations.length > (denied ? 1 : 0)) {
        throw new Error(`unexpected errors for ${user} publishing ${JSON.stringify(subject)}: ${violations.join("; ")}`);
      }
      if (denied === (observed !== undefined)) {
        throw new Error(
          `inconsistent verdict for ${user} publishing ${JSON.stringify(subject)}: ` +
            `permission violation ${denied ? "reported" : "not reported"}, observer ${observed !== undefined ? "received it" : "did not receive it"}`,
        );
      }
      verdicts.push({ subject, allowed: !denied });
    }
    return verdicts;
  }

  /**
   * For each case: open a subscription on `pattern` as `user`, let the observer publish `subject`
   * in the user's account, and report whether the server refused the subscription and whether
   * the message arrived.
   */
  async subscribe(user: string, cases: { pattern: string; subject: string }[]): Promise<SubscribeVerdict[]> {
    bound(cases.length);
    const client = await this.client(user);
    const observer = this.observerFor(user);
    const verdicts: SubscribeVerdict[] = [];
    for (const { pattern, subject } of cases) {
      const token = this.nextToken();
      let received = false;
      let callbackError: Error | undefined;
      const before = client.errors.length;
      let sub: Subscription | undefined = client.nc.subscribe(pattern, {
        callback: (err, msg) => {
          if (err) callbackError = err;
          else if (msg.string() === token) {
            if (msg.subject !== subject) throw new Error(`got ${JSON.stringify(msg.subject)} for ${JSON.stringify(subject)}`);
            received = true;
          }
        },
      });
      await settle(client.nc);
      observer.nc.publish(subject, token);
      await settle(observer.nc);
      await settle(client.nc);
      const violations = client.errors.slice(before);
      const rejected = violations.some((text) => isViolationFor(text, "Subscription", pattern));
      if (violations.length > (rejected ? 1 : 0)) {
        throw new Error(`unexpected errors for ${user} subscribing ${JSON.stringify(pattern)}: ${violations.join("; ")}`);
      }
      // The client routes the error to the subscription by the subject in the error text, which
      // the server quotes Go-style: for a subject holding '"' or '\\' it finds none. The server's
      // -ERR, matched exactly above, is the authority; a routed error must agree with it.
      if (callbackError !== undefined && !rejected) {
        throw new Error(`${user}'s subscription ${JSON.stringify(pattern)} got an error the server did not send for it: ${callbackError.message}`);
      }
      if (rejected && received) throw new Error(`${user}'s subscription ${JSON.stringify(pattern)} was refused yet delivered a message`);
      if (!sub.isClosed()) sub.unsubscribe();
      sub = undefined;
      verdicts.push({ pattern, subject, rejected, received });
    }
    return verdicts;
  }

  /**
   * Publishes `subject` as the observer of account `from` and reports whether the observer of
   * account `to` received it (through a stream export and import, for example).
   */
  async crossesAccounts(from: string, to: string, subject: string): Promise<boolean> {
    const source = this.observers.get(from);
    const target = this.observers.get(to);
    if (!source || !target) throw new Error(`no observer for account ${source ? to : from}`);
    const token = this.nextToken();
    source.nc.publish(subject, token);
    await settle(source.nc);
    await settle(target.nc);
    return target.seen.has(token);
  }

  /**
   * The connection the probe itself uses for `user`. Rights that belong to one connection, such
   * as the one-time reply of allow_responses, are only visible through it.
   */
  async connection(user: string): Promise<NatsConnection> {
    return (await this.client(user)).nc;
  }

  /** The observer connection of an account, to publish or answer requests as "anyone there". */
  observer(account: string): NatsConnection {
    const observer = this.observers.get(account);
    if (!observer) throw new Error(`no observer for account ${account}`);
    return observer.nc;
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()].map((c) => c.nc).concat([...this.observers.values()].map((o) => o.nc));
    await Promise.all(all.map((nc) => nc.close().catch(() => undefined)));
    this.clients.clear();
    this.observers.clear();
  }

  private async client(user: string): Promise<Client> {
    let client = this.clients.get(user);
    if (client && !client.nc.isClosed()) return client;
    const nc = await this.connectAs(user);
    const errors: string[] = [];
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "error") errors.push(status.error.message);
      }
    })();
    client = { nc, errors };
    this.clients.set(user, client);
    return client;
  }

  private observerFor(user: string): { nc: NatsConnection; seen: Map<string, string> } {
    const account = this.accountOf.get(user);
    const observer = account === undefined ? undefined : this.observers.get(account);
    if (!observer) throw new Error(`no observer for the account of ${user} (${account ?? "unknown user"})`);
    return observer;
  }

  private nextToken(): string {
    return `probe-${++this.counter}`;
  }
}

function bound(count: number): void {
  if (count > MAX_CASES_PER_CALL) throw new Error(`too many probe cases (${count}); split them`);
}

/** One PING/PONG round trip, then one macrotask so that status listeners have run. */
async function settle(nc: NatsConnection): Promise<void> {
  await nc.flush();
  await new Promise((resolve) => setImmediate(resolve));
}

/** True if `text` is the server's violation for exactly this operation and subject. */
export function isViolationFor(text: string, operation: "Publish" | "Subscription", subject: string): boolean {
  const match = /^Permissions Violation for (Publish|Subscription) to ("(?:[^"\\]|\\.)*")/.exec(text);
  return match !== null && match[1] === operation && goUnquote(match[2]) === subject;
}

/** Reverses Go's %q (strconv.Quote), which the server uses for the subject in the error text. */
export function goUnquote(quoted: string): string {
  const body = quoted.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"'])/g, (_, esc: string) => {
    const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };
    if (esc in simple) return simple[esc];
    return String.fromCodePoint(parseInt(esc.slice(1), 16));
  });
}

// ---------------------------------------------------------------------------------------------
// The expectation side: what the stack config declares, and subjects to try. Written here from
// the NATS subject rules, independently of config/subjects.ts, so the two can disagree.

/**
 * What a declared service may do, in the words of the stack config's contract, on a stack whose
 * services share `_INBOX` (the generated and adversarial stacks leave `inboxes` out). A stack on
 * private inboxes writes its own (test/render/permissions.server.test.ts).
 */
export function declaredAllows(service: { publish: string[]; subscribe: string[]; requests: boolean }): { publish: string[]; subscribe: string[] } {
  return { publish: service.publish, subscribe: service.requests ? [...service.subscribe, "_INBOX.>"] : service.subscribe };
}

/** A JetStream API subject: `$JS.API.` then `rest`. */
export const api = (rest: string) => `$JS.API.${rest}`;

/** The subjects of `all` that are not in `granted`. */
export const without = (all: string[], granted: string[]) => all.filter((subject) => !granted.includes(subject));

/** Whether the concrete `subject` is matched by `pattern` ("*" one token, ">" one or more). */
export function natsMatch(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export const matchedByAny = (patterns: string[], subject: string) => patterns.some((p) => natsMatch(p, subject));

/** Concrete subjects that `pattern` matches: wildcards filled with tokens no config uses. */
export function samplesOf(pattern: string): string[] {
  const tokens = pattern.split(".");
  const fill = (forTail: string[]) => tokens.map((t, i) => (t === "*" ? `zq${i}` : t === ">" ? forTail.join(".") : t)).join(".");
  if (tokens[tokens.length - 1] === ">") return [fill(["zq1"]), fill(["zq1", "zq2"])];
  return [fill([])];
}

/** Subjects near `allowed` and elsewhere that `allowed` does not match: what must be denied. */
export function denySamples(allowed: string[], elsewhere: string[]): string[] {
  const candidates: string[] = [
    "zq-unrelated",
    "$SYS.REQ.SERVER.PING",
    "$SYS.REQ.ACCOUNT.PING.CONNZ",
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.CREATE.ZQ",
    "$JS.API.CONSUMER.CREATE.ZQ.zq",
    "$JS.ACK.ZQ.zq.1.1.1.1.0",
    "$KV.zq.key",
    "_INBOX.zq1.zq2",
    "_INBOX.zq1",
  ];
  for (const pattern of [...allowed, ...elsewhere]) {
    const sample = samplesOf(pattern)[0];
    const tokens = sample.split(".");
    candidates.push(sample);
    candidates.push([`${tokens[0]}x`, ...tokens.slice(1)].join(".")); // sibling prefix: teacherx.…
    candidates.push(`${sample}.zq9`); // one token deeper
    if (tokens.length > 1) {
      candidates.push(tokens.slice(0, -1).join(".")); // the parent: "teacher" for teacher.>
      candidates.push([...tokens.slice(0, -1), `${tokens[tokens.length - 1]}x`].join(".")); // user.getx
    }
  }
  return unique(candidates.filter((subject) => !matchedByAny(allowed, subject)));
}

/**
 * Subscriptions that must bring nothing the config does not allow: every deny sample as a literal
 * subscription, plus wildcards wider than the allows (`>`, `$SYS.>`, and for `events.*` the
 * subscription `events.>` with a message on `events.a.b`).
 */
export function subscribeDenyCases(allowed: string[], elsewhere: string[]): { pattern: string; subject: string }[] {
  const denied = denySamples(allowed, elsewhere);
  const cases = denied.map((subject) => ({ pattern: subject, subject }));
  const wide: { pattern: string; subject: string }[] = [
    { pattern: ">", subject: denied[0] },
    { pattern: "*", subject: "zq-unrelated" },
    { pattern: "$SYS.>", subject: "$SYS.REQ.SERVER.PING" },
    { pattern: "$JS.API.>", subject: "$JS.API.INFO" },
    { pattern: "_INBOX.>", subject: "_INBOX.zq1.zq2" },
  ];
  for (const pattern of allowed) {
    const tokens = pattern.split(".");
    const sample = samplesOf(pattern)[0];
    if (tokens[tokens.length - 1] === "*") {
      wide.push({ pattern: [...tokens.slice(0, -1), ">"].join("."), subject: `${sample}.zq9` });
    }
    if (tokens.length > 1 && tokens[0] !== "*") {
      wide.push({ pattern: ["*", ...tokens.slice(1)].join("."), subject: [`${tokens[0]}x`, ...sample.split(".").slice(1)].join(".") });
      wide.push({ pattern: `${tokens[0]}.>`, subject: [tokens[0], "zqwide", "zq9"].join(".") });
    }
  }
  const all = [...cases, ...wide].filter((c) => natsMatch(c.pattern, c.subject) && !matchedByAny(allowed, c.subject));
  return uniqueBy(all, (c) => `${c.pattern}\u0000${c.subject}`);
}

export const isLiteral = (pattern: string) => !pattern.split(".").some((t) => t === "*" || t === ">");

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function uniqueBy<T>(values: T[], key: (value: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((v) => (seen.has(key(v)) ? false : (seen.add(key(v)), true)));
}

export interface ProbeCounts {
  publishAllowed: number;
  publishDenied: number;
  subscribeAllowed: number;
  subscribeDenied: number;
}

/**
 * Checks every declared service on a running server: all its allows granted, every deny sample
 * refused. Returns the mismatches in words (empty when the server enforces exactly the config)
 * and how many cases were tried. `elsewhere` adds subjects to derive deny samples from.
 */
export async function probeDeclaredServices(
  probe: PermissionProbe,
  services: { name: string; account: string; publish: string[]; subscribe: string[]; requests: boolean }[],
  elsewhere: string[] = [],
): Promise<{ problems: string[]; counts: ProbeCounts }> {
  const problems: string[] = [];
  const counts: ProbeCounts = { publishAllowed: 0, publishDenied: 0, subscribeAllowed: 0, subscribeDenied: 0 };
  const show = (v: unknown) => JSON.stringify(v);
  for (const service of services) {
    const allows = declaredAllows(service);
    const others = [...services.filter((s) => s.name !== service.name).flatMap((s) => [...s.publish, ...s.subscribe]), ...elsewhere];
    const who = `${service.name} (${service.account})`;

    const pubAllowed = await probe.publish(service.name, allows.publish.flatMap(samplesOf));
    pubAllowed.filter((v) => !v.allowed).forEach((v) => problems.push(`${who} may not publish declared ${show(v.subject)}`));
    const pubDenied = await probe.publish(service.name, denySamples(allows.publish, others));
    pubDenied.filter((v) => v.allowed).forEach((v) => problems.push(`${who} may publish undeclared ${show(v.subject)}`));

    const subCases = allows.subscribe.flatMap((pattern) => samplesOf(pattern).flatMap((subject) => [{ pattern, subject }, { pattern: subject, subject }]));
    const subAllowed = await probe.subscribe(service.name, subCases);
    subAllowed
      .filter((v) => v.rejected || !v.received)
      .forEach((v) => problems.push(`${who} subscribing ${show(v.pattern)} ${v.rejected ? "was refused" : "did not receive"} declared ${show(v.subject)}`));
    const subDenied = await probe.subscribe(service.name, subscribeDenyCases(allows.subscribe, others));
    subDenied.filter((v) => v.received).forEach((v) => problems.push(`${who} subscribing ${show(v.pattern)} received undeclared ${show(v.subject)}`));
    subDenied
      .filter((v) => isLiteral(v.pattern) && !v.rejected)
      .forEach((v) => problems.push(`${who} could subscribe to undeclared ${show(v.pattern)}`));

    counts.publishAllowed += pubAllowed.length;
    counts.publishDenied += pubDenied.length;
    counts.subscribeAllowed += subAllowed.length;
    counts.subscribeDenied += subDenied.length;
  }
  return { problems, counts };
}
