// When the server denies a service a JetStream subject, which intent would have granted it: the
// answer a person needs instead of a bare "Permissions Violation". Read from the server's log
// line (the JetStream API and the KV and object store subjects the clients use, as compiled in
// jetstreamIntent.ts), and said only when following it would let that request through: the
// service with the suggested intent must pass the config checks and be granted that very
// subject, which it is not now. Anything else (a consumer that is not declared, a stream of
// another account, an intent the service already has, a subscription a publish intent does not
// give) gets no hint: the server's own words are then the better guide.
import { subjectCovers } from "./subjects";
import type { ServiceConfig, StackConfig } from "./schema";
import { natsUsers, type UserPermissions } from "./users";
import { crossFieldProblems } from "./validate";
import type { JetStreamIntent } from "./jetstreamIntent";

export interface Denial {
  user: string;
  kind: "publish" | "subscribe";
  subject: string;
  /**
   * How the client introduced itself, as the server logs it: `v<version>:<language>:<name>`,
   * or fewer of the three (whatever the client sent). Absent when it sent none.
   */
  client?: string;
}

/**
 * The connection name `nats-infra test-auth` uses. Its probes are refused on purpose (that is how
 * it reads a service's permissions), so their violations are no sign of a missing intent.
 * ops/testAuth.ts names its connections this way; test/render/missingIntentHints.server.test.ts
 * runs it against a real server and fails if the two ever differ.
 */
export const TEST_AUTH_CLIENT_NAME = "nats-infra test-auth";

/** Whether a denial came from test-auth's probes: its connection name ends the client label. */
export function isTestAuthProbe(denial: Denial): boolean {
  return denial.client === TEST_AUTH_CLIENT_NAME || denial.client?.endsWith(`:${TEST_AUTH_CLIENT_NAME}`) === true;
}

type StoreAccess = "read" | "write";

/** `services[i].jetstream.<key>` gains (or, for a store already listed, changes to) `value`. */
type MissingIntent =
  | { key: "publish" | "read"; value: string; why: string }
  | { key: "consume"; value: { stream: string; consumer: string }; why: string }
  | { key: "kv"; value: { bucket: string; access: StoreAccess }; why: string }
  | { key: "objects"; value: { store: string; access: StoreAccess }; why: string };

const KV_STREAM = /^KV_(.+)$/;
const OBJ_STREAM = /^OBJ_(.+)$/;

/** The intent a denied subject points to, from the subject alone (stream subjects aside). */
function fromSubject(config: StackConfig, account: string, subject: string): MissingIntent | undefined {
  const parts = subject.split(".");
  const api = (prefix: string) => subject.startsWith(`$JS.API.${prefix}.`) ? subject.slice(`$JS.API.${prefix}.`.length).split(".") : undefined;
  const consumerOf = api("CONSUMER.MSG.NEXT") ?? api("CONSUMER.INFO") ?? (parts[0] === "$JS" && parts[1] === "ACK" ? parts.slice(2) : undefined);
  if (consumerOf && consumerOf.length >= 2 && !KV_STREAM.test(consumerOf[0]) && !OBJ_STREAM.test(consumerOf[0])) {
    const [stream, consumer] = consumerOf;
    return { key: "consume", value: { stream, consumer }, why: `reading stream ${stream} through its consumer ${consumer}` };
  }
  const streamOf = api("STREAM.INFO") ?? api("STREAM.MSG.GET") ?? api("DIRECT.GET") ?? api("CONSUMER.CREATE") ?? api("CONSUMER.INFO") ?? api("CONSUMER.DELETE");
  if (streamOf) {
    const stream = streamOf[0];
    const bucket = KV_STREAM.exec(stream)?.[1];
    if (bucket) return { key: "kv", value: { bucket, access: "read" }, why: `reading KV bucket ${bucket}` };
    const store = OBJ_STREAM.exec(stream)?.[1];
    if (store) return { key: "objects", value: { store, access: "read" }, why: `reading object store ${store}` };
    if (!api("STREAM.INFO") && !api("STREAM.MSG.GET")) return undefined; // no intent creates, deletes or direct-reads consumers or messages of a stream
    return { key: "read", value: stream, why: `reading stream ${stream}` };
  }
  if (parts[0] === "$KV" && parts.length >= 3) return { key: "kv", value: { bucket: parts[1], access: "write" }, why: `writing KV bucket ${parts[1]}` };
  if (parts[0] === "$O" && parts.length >= 3) return { key: "objects", value: { store: parts[1], access: "write" }, why: `writing object store ${parts[1]}` };
  const captured = config.streams.find((s) => s.account === account && s.subjects.some((pattern) => subjectCovers(pattern, subject)));
  if (captured) return { key: "publish", value: captured.name, why: `publishing to stream ${captured.name}` };
  return undefined;
}

/** The service's intent with `missing` added; a KV bucket or object store already listed gets the new access instead. */
function withIntent(intent: JetStreamIntent | undefined, missing: MissingIntent): { intent: JetStreamIntent; changed?: number } {
  const next: JetStreamIntent = { publish: [], consume: [], read: [], ...intent };
  switch (missing.key) {
    case "publish":
    case "read":
      return { intent: { ...next, [missing.key]: [...next[missing.key], missing.value] } };
    case "consume":
      return { intent: { ...next, consume: [...next.consume, missing.value] } };
    case "kv": {
      const entries = next.kv ?? [];
      const changed = entries.findIndex((e) => e.bucket === missing.value.bucket);
      if (changed < 0) return { intent: { ...next, kv: [...entries, missing.value] } };
      return { intent: { ...next, kv: entries.map((e, i) => (i === changed ? missing.value : e)) }, changed };
    }
    case "objects": {
      const entries = next.objects ?? [];
      const changed = entries.findIndex((e) => e.store === missing.value.store);
      if (changed < 0) return { intent: { ...next, objects: [...entries, missing.value] } };
      return { intent: { ...next, objects: entries.map((e, i) => (i === changed ? missing.value : e)) }, changed };
    }
  }
}

/** Whether the server lets `user` do `kind` on `subject` under `permissions` (allow, then deny). */
function permits(permissions: UserPermissions, kind: Denial["kind"], subject: string): boolean {
  const rules = permissions[kind];
  // No allow list: everything, except a publish under allow_responses alone (only the replies).
  const allow = rules.allow ?? (kind === "publish" && permissions.allowResponses ? [] : [">"]);
  return allow.some((p) => subjectCovers(p, subject)) && !(rules.deny ?? []).some((p) => subjectCovers(p, subject));
}

const permissionsOf = (config: StackConfig, service: string) => natsUsers(config).find((u) => u.user === service)!.permissions;
const problemKeys = (config: StackConfig) => new Set(crossFieldProblems(config).map((p) => JSON.stringify([p.path, p.message])));

/**
 * The config with `missing` applied to services[index], if that is a change that helps: it passes
 * every check the current config passes, and grants the denied subject, which is not granted now.
 */
function helpfulChange(config: StackConfig, index: number, missing: MissingIntent, denial: Denial): { changed?: number } | undefined {
  const service = config.services[index];
  if (permits(permissionsOf(config, service.name), denial.kind, denial.subject)) return undefined;
  const { intent, changed } = withIntent(service.jetstream, missing);
  const next: ServiceConfig = { ...service, jetstream: intent };
  const candidate: StackConfig = { ...config, services: config.services.map((s, i) => (i === index ? next : s)) };
  const before = problemKeys(config);
  if ([...problemKeys(candidate)].some((problem) => !before.has(problem))) return undefined;
  return permits(permissionsOf(candidate, service.name), denial.kind, denial.subject) ? { changed } : undefined;
}

const show = (missing: MissingIntent): string => {
  const v = missing.value;
  if (typeof v === "string") return v;
  if ("consumer" in v) return `{ stream: ${v.stream}, consumer: ${v.consumer} }`;
  return "bucket" in v ? `{ bucket: ${v.bucket}, access: ${v.access} }` : `{ store: ${v.store}, access: ${v.access} }`;
};

/**
 * One line for a denied JetStream subject of a declared service: what the subject is for and the
 * intent to add (or the access to change), with its path; undefined when no intent change would
 * let this request through, and for test-auth's probes.
 */
export function explainDenial(config: StackConfig, denial: Denial): string | undefined {
  if (isTestAuthProbe(denial)) return undefined;
  const index = config.services.findIndex((s) => s.name === denial.user);
  if (index < 0) return undefined;
  const service = config.services[index];
  const missing = fromSubject(config, service.account, denial.subject);
  if (!missing) return undefined;
  const change = helpfulChange(config, index, missing, denial);
  if (!change) return undefined;
  const path = `nats-infra:services[${index}].jetstream.${missing.key}`;
  const fix =
    change.changed === undefined
      ? `add ${show(missing)} to ${path}`
      : `set access: ${(missing.value as { access: StoreAccess }).access} on ${path}[${change.changed}]`;
  return `${denial.user} was denied ${denial.kind} to "${denial.subject}" (${missing.why}): ${fix}`;
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
/**
 * A nats-server log line about a permissions violation:
 * `- cid:5 - "<client>" - "<ACCOUNT>/user:<USER>" - Publish Violation - Subject "<s>"`, where the
 * client label is left out when the client sent no version, language or name.
 */
const VIOLATION_LINE = new RegExp(String.raw`cid:\d+ - (?:${QUOTED} - )?"[^"]*\/user:([^"]+)" - (Publish|Subscription) Violation - Subject ${QUOTED}`);

export function parseViolation(line: string): Denial | undefined {
  const match = VIOLATION_LINE.exec(line);
  if (!match) return undefined;
  const [, client, user, kind, subject] = match;
  const denial: Denial = { user, kind: kind === "Publish" ? "publish" : "subscribe", subject: goUnquote(subject) };
  if (client !== undefined) denial.client = goUnquote(client);
  return denial;
}

/** The inside of a Go %q string (the server quotes subjects and client names that way). */
function goUnquote(body: string): string {
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, esc: string) =>
    esc in simple ? simple[esc] : esc.length > 1 ? String.fromCodePoint(parseInt(esc.slice(1), 16)) : esc,
  );
}
