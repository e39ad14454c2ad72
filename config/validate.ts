// Checks that span several fields (names unique, references resolve, limits fit together).
// Each check reports a path into the stack config so the person can find the line to fix.
import { envNamePart, LONE_SURROGATE } from "./primitives";
import type { Finding, Path } from "./findings";
import { parseDuration } from "./units";
import { extraKeyProblem } from "./serverOptions";
import { clusterProblems, clusterWarnings } from "./validateCluster";
import { homeProblems, jetstreamKindProblems } from "./jetstreamKinds";
import { reservationProblems } from "./reservations";
import { subjectCovers, subjectsOverlap } from "./subjects";
import type { StackConfig, StreamConfig } from "./schema";
import { INBOX_WILDCARD, serviceAllows, unboundedTrailingWildcards } from "./users";
import { inboxSubjects, privateInboxPrefix, SHARED_INBOX_PREFIX, serviceInboxMode } from "./inboxes";
import { declaredStream } from "./jetstreamIntent";
import { monitoringProblems } from "./monitoring";

export type { Finding, Path };

/** nats-server refuses to start when max_payload exceeds max_pending, which is 64MB by default. */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** nats-server 2.14 refuses `lame_duck_duration` under 30 s (checked on 2.14.10). */
export const MIN_LAME_DUCK_MS = 30_000;

export function crossFieldProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });

  // JavaScript strings can hold half of a UTF-16 pair; written to a file it silently becomes
  // U+FFFD, so the server would enforce a different subject (or path) than the one declared.
  brokenUnicode(config).forEach((path) => add(path, "contains broken Unicode (a lone UTF-16 surrogate); retype the value"));

  const accountNames = new Set(config.accounts.map((a) => a.name));
  duplicates(config.accounts.map((a) => a.name)).forEach((i) =>
    add(["accounts", i, "name"], "this account name is declared twice; account names must be unique"),
  );
  // Account names become environment variable names (permissions summary, NATS_PASSWORD_<ACCOUNT>)
  // with '-' written as '_', so "A-B" and "A_B" would share one variable.
  const envForms = config.accounts.map((a) => envNamePart(a.name));
  duplicates(envForms).forEach((i) => {
    if (duplicates(config.accounts.map((a) => a.name)).includes(i)) return;
    const other = config.accounts.find((_, k) => k < i && envForms[k] === envForms[i])!.name;
    add(["accounts", i, "name"], `differs from account ${other} only in '-' versus '_', which environment variable names cannot tell apart; rename one`);
  });
  duplicates(config.services.map((s) => s.name)).forEach((i) =>
    add(["services", i, "name"], "this service name is declared twice; each service is one NATS user, so names must be unique"),
  );
  config.services.forEach((service, i) => {
    if (!accountNames.has(service.account)) {
      add(["services", i, "account"], `no such account; declared accounts: ${[...accountNames].join(", ")}`);
    }
    // A grant nats-infra cannot hold to exactly what is written is refused, not widened.
    const granted = serviceAllows(config, service).subscribe;
    for (const { subject, overlapping } of unboundedTrailingWildcards(granted)) {
      const wider = subject.replace(/\*$/, ">");
      const k = service.subscribe.indexOf(subject);
      add(
        // Not written under subscribe: the deliverSubject of a push consumer in its intent.
        k >= 0 ? ["services", i, "subscribe", k] : ["services", i, "jetstream", "consume"],
        `nats-server accepts a subscription to "${wider}" under this allow and then delivers deeper subjects too; ` +
          `nats-infra closes that with a deny of "${subject}.>", which here would also take away "${overlapping}"` +
          (overlapping === INBOX_WILDCARD ? " (granted by requests: true)" : "") +
          `. Subscribe to "${wider}" if deeper subjects are fine, or list the single-token subjects instead of "${subject}".`,
      );
    }
  });

  config.accounts.forEach((account, a) => {
    account.imports.forEach((imp, k) => {
      const kind = "stream" in imp ? "stream" : "service";
      const wanted = "stream" in imp ? imp.stream : imp.service;
      const source = config.accounts.find((other) => other.name === imp.account);
      if (!source) {
        add(["accounts", a, "imports", k, "account"], `no such account; declared accounts: ${[...accountNames].join(", ")}`);
      } else if (source.name === account.name) {
        add(["accounts", a, "imports", k, "account"], "an account cannot import from itself");
      } else if (!source.exports.some((exp) => kind in exp && subjectCovers((exp as Record<string, string>)[kind], wanted))) {
        add(["accounts", a, "imports", k, kind], `account ${source.name} exports no ${kind} covering this subject; add an export there first`);
      }
    });
  });

  const { server } = config;
  for (const key of Object.keys(server.extra ?? {})) {
    const problem = extraKeyProblem(key);
    if (problem) add(["server", "extra", key], problem);
  }
  if (server.clientPort === server.monitorPort) add(["server", "monitorPort"], "the monitoring port must differ from the client port");
  if (server.maxPayload > MAX_PENDING_BYTES) {
    add(["server", "maxPayload"], `must be at most 64MB (${MAX_PENDING_BYTES} bytes), the server's max_pending; large payloads belong in an object store`);
  }
  // nats-server reads 0 as "not set" and silently uses its own default (checked on 2.14.10:
  // max_payload 0 -> 1MB, ping_interval "0s" -> 2m, write_deadline "0s" -> 10s).
  if (server.maxPayload === 0) add(["server", "maxPayload"], 'must be more than 0: nats-server would silently use its default of 1MB; write the size you want, e.g. "1MB"');
  for (const key of ["pingInterval", "writeDeadline"] as const) {
    if (parseDuration(server[key]) === 0) add(["server", key], `must be longer than 0: nats-server would silently use its own default instead; leave it out for the default (${key === "pingInterval" ? '"20s" here' : '"10s"'})`);
  }
  if (parseDuration(server.lameDuckDuration)! < MIN_LAME_DUCK_MS) {
    add(["server", "lameDuckDuration"], 'must be at least "30s": nats-server refuses a shorter lame duck duration');
  }
  if (parseDuration(server.lameDuckGracePeriod)! >= parseDuration(server.lameDuckDuration)!) {
    add(["server", "lameDuckGracePeriod"], `must be shorter than lameDuckDuration (${server.lameDuckDuration})`);
  }
  if (config.docker.surveyor.enabled && [server.clientPort, server.monitorPort].includes(config.docker.surveyor.port)) {
    add(["docker", "surveyor", "port"], "the Surveyor port must differ from the client and monitoring ports");
  }
  // Every port published on docker.bindAddress by the monitoring containers is its own.
  const published: { path: Path; port: number }[] = [
    { path: ["server", "clientPort"], port: server.clientPort },
    { path: ["server", "monitorPort"], port: server.monitorPort },
    ...(config.docker.surveyor.enabled ? [{ path: ["docker", "surveyor", "port"], port: config.docker.surveyor.port }] : []),
  ];
  for (const [key, part] of [["prometheus", config.monitoring.prometheus], ["grafana", config.monitoring.grafana]] as const) {
    if (!part.enabled) continue;
    const taken = published.find((p) => p.port === part.port);
    if (taken) add(["monitoring", key, "port"], `${part.port} is already ${taken.path.join(".")}; give ${key} a port of its own`);
    published.push({ path: ["monitoring", key, "port"], port: part.port });
  }

  problems.push(...clusterProblems(config), ...streamProblems(config), ...jetstreamIntentProblems(config), ...jetstreamKindProblems(config), ...inboxProblems(config), ...monitoringProblems(config.docker.surveyor.enabled, config.monitoring));
  return problems;
}

/**
 * Inbox subjects are nats-infra's to grant (config/inboxes.ts): a subject under `_INBOX_<name>`
 * would read or forge another user's private replies, and a private service listing `_INBOX.>`
 * would read every shared reply of its account, which its own prefix made unnecessary.
 *
 * A wildcard that reaches into another service's private inbox (`>`, `*.>`, `*.*`) is refused
 * too: a deny cannot close it. When JetStream pushes stream messages into an inbox (KV history
 * and watches, object reads, consumer batches), nats-server delivers them under their stream
 * subject and checks the subscriber's deny against that, not against the inbox, so a `>`
 * subscriber received another service's KV history and object contents through it (seen on
 * 2.14.10 with all four clients: test/inboxes/eavesdrop.server.test.ts).
 */
/** Whether `subject` matches the subjects clients make under `prefix` (random tokens after it). */
function reachesInto(subject: string, prefix: string): boolean {
  return [1, 2, 3].some((depth) => subjectCovers(subject, [prefix, ...Array(depth).fill("*")].join(".")));
}

function inboxProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  // Only a service that makes requests has an inbox.
  const privateServices = config.services.filter((s) => s.requests && serviceInboxMode(config, s) !== "shared");
  config.services.forEach((service, i) => {
    service.subscribe.forEach((subject, k) => {
      // A subject under `_INBOX_<name>` is refused as such, below.
      if (subject.startsWith(`${SHARED_INBOX_PREFIX}_`)) return;
      const reached = privateServices.filter((other) => other.account === service.account && other.name !== service.name && reachesInto(subject, privateInboxPrefix(other.name)));
      if (!reached.length) return;
      problems.push({
        path: ["services", i, "subscribe", k],
        message:
          `"${subject}" reaches into the private inbox of ${reached.map((s) => s.name).join(", ")}, where nats-server delivers their JetStream reads (KV history, object contents, consumer batches) ` +
          `under the stream's own subjects, past any deny; list the subjects this service needs (such as "orders.>") instead of a wildcard first token`,
      });
    });
    for (const key of ["publish", "subscribe"] as const) {
      service[key].forEach((subject, k) => {
        const first = subject.split(".")[0];
        if (first.startsWith(`${SHARED_INBOX_PREFIX}_`)) {
          const own = first === privateInboxPrefix(service.name);
          problems.push({
            path: ["services", i, key, k],
            message: own
              ? `${first} is this service's own inbox, which requests: true already grants; remove this entry`
              : `subjects under "${SHARED_INBOX_PREFIX}_<name>" are private inboxes, each granted to its one user by nats-infra; remove this entry (a service that makes requests gets its own with requests: true)`,
          });
        } else if (key === "subscribe" && serviceInboxMode(config, service) === "private" && first === SHARED_INBOX_PREFIX) {
          problems.push({
            path: ["services", i, key, k],
            message: `"${subject}" reads the replies of every service on the shared inbox, but this service has a private one (${inboxSubjects(privateInboxPrefix(service.name))}, granted by requests: true); remove this entry, or set inbox: both on the service while its clients move`,
          });
        }
      });
    }
  });
  return problems;
}

/**
 * JetStream intent (config/jetstreamIntent.ts) may name only streams and consumers this config
 * declares in the service's own account: the subjects are derived from those declarations, so an
 * unknown name would silently grant nothing.
 */
function jetstreamIntentProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  config.services.forEach((service, i) => {
    const intent = service.jetstream;
    if (!intent) return;
    const at = (...rest: Path): Path => ["services", i, "jetstream", ...rest];
    const add = (path: Path, message: string) => problems.push({ path, message });
    const account = config.accounts.find((a) => a.name === service.account);
    if (!config.jetstream.enabled || account?.jetstream === false) {
      add(at(), `JetStream is off ${config.jetstream.enabled ? `for account ${service.account}` : "(jetstream.enabled: false)"}, so this service cannot use streams; turn it on or remove jetstream here`);
    }
    if (!service.requests) {
      add(["services", i, "requests"], "a service with jetstream intent makes requests (every JetStream API call and ack is one, answered on its inbox); set requests: true or remove jetstream");
    }
    const streamProblem = (name: string) => referenceProblem(service.account, { what: "stream", key: "streams", name, all: config.streams });
    for (const key of ["publish", "read"] as const) {
      intent[key].forEach((name, k) => {
        const problem = streamProblem(name);
        if (problem) add(at(key, k), problem);
        // A mirror captures no subjects of its own: publishing to it would grant nothing.
        else if (key === "publish" && declaredStream(config, service.account, name)!.subjects.length === 0) {
          add(at(key, k), `stream ${name} has no subjects of its own (a mirror), so nothing can be published to it; publish to the stream it mirrors`);
        }
      });
    }
    (intent.kv ?? []).forEach(({ bucket }, k) => {
      const problem = referenceProblem(service.account, { what: "KV bucket", key: "kv", name: bucket, all: config.kv.map((b) => ({ ...b, name: b.bucket })) });
      if (problem) add(at("kv", k, "bucket"), problem);
    });
    (intent.objects ?? []).forEach(({ store }, k) => {
      const problem = referenceProblem(service.account, { what: "object store", key: "objectStores", name: store, all: config.objectStores.map((o) => ({ ...o, name: o.store })) });
      if (problem) add(at("objects", k, "store"), problem);
    });
    intent.consume.forEach(({ stream, consumer }, k) => {
      const problem = streamProblem(stream);
      if (problem) {
        add(at("consume", k, "stream"), problem);
        return;
      }
      const s = config.streams.findIndex((d) => d.account === service.account && d.name === stream);
      const declared = config.streams[s].consumers;
      const found = declared.find((c) => c.name === consumer);
      const live = declared.filter((c) => !c.delete).map((c) => c.name);
      if (found?.delete) {
        add(at("consume", k, "consumer"), `consumer ${consumer} of stream ${stream} is being deleted (delete: true); remove it from this intent as well`);
      } else if (!found) {
        add(
          at("consume", k, "consumer"),
          `stream ${stream} declares no consumer ${consumer} (${live.length ? `its consumers: ${live.join(", ")}` : "it has none"}); declare it under nats-infra:streams[${s}].consumers or fix the name`,
        );
      }
    });
  });
  return problems;
}

interface IntentReference {
  what: "stream" | "KV bucket" | "object store";
  /** Where they are declared: nats-infra:<key>. */
  key: "streams" | "kv" | "objectStores";
  name: string;
  /** Every declaration of that kind, in any account. */
  all: { name: string; account: string; delete: boolean }[];
}

/** Why a stream, KV bucket or object store named in a service's intent grants nothing, if it does not. */
function referenceProblem(account: string, ref: IntentReference): string | undefined {
  const found = ref.all.find((s) => s.account === account && s.name === ref.name);
  if (found?.delete) return `${ref.what} ${ref.name} is being deleted (delete: true); remove it from this intent as well`;
  if (found) return undefined;
  const inAccount = ref.all.filter((s) => s.account === account && !s.delete).map((s) => s.name);
  const declared = inAccount.length ? `${ref.what}s of account ${account}: ${inAccount.join(", ")}` : `account ${account} declares no ${ref.what}s`;
  const elsewhere = ref.all.find((s) => s.name === ref.name);
  return elsewhere
    ? `${ref.what} ${ref.name} belongs to account ${elsewhere.account}, not to this service's account ${account}; a service reaches only its own account's ${ref.what}s (${declared})`
    : `no ${ref.what} ${ref.name} is declared under nats-infra:${ref.key} (${declared}); declare it there or fix the name`;
}

/** Subjects a stream may not capture: the server refuses them (they would swallow API requests). */
const RESERVED_SUBJECTS = ["$JS.>", "$SYS.>"];

function streamProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  config.streams.forEach((stream, s) => {
    const at = (...rest: Path): Path => ["streams", s, ...rest];
    problems.push(...homeProblems(config, stream, "stream", at, at("name")));
    if (stream.delete && !stream.allowDelete) {
      add(at("delete"), "deleting a stream loses every message in it; set allowDelete: true on this stream as well to confirm");
    }
    stream.subjects.forEach((subj, j) => {
      const reserved = RESERVED_SUBJECTS.find((r) => subjectsOverlap(subj, r));
      if (reserved) add(at("subjects", j), `overlaps "${reserved}", which the server keeps for its own API; use an application subject such as "orders.>"`);
    });
    const maxAgeMs = parseDuration(stream.maxAge)!;
    if (stream.duplicateWindow !== undefined && maxAgeMs > 0 && parseDuration(stream.duplicateWindow)! > maxAgeMs) {
      add(at("duplicateWindow"), `must not be longer than maxAge (${stream.maxAge}); the server refuses it`);
    }
    config.streams.forEach((other, o) => {
      if (o >= s || other.account !== stream.account) return;
      if (other.name === stream.name) add(at("name"), `stream ${stream.name} is declared twice in account ${stream.account}`);
      for (const [j, mine] of stream.subjects.entries()) {
        const clash = other.subjects.find((theirs) => subjectsOverlap(mine, theirs));
        if (clash) add(at("subjects", j), `overlaps "${clash}" of stream ${other.name} in the same account; a message may belong to one stream only`);
      }
    });
    problems.push(...consumerProblems(stream, at));
  });
  problems.push(...reservationProblems(config));
  return problems;
}

function consumerProblems(stream: StreamConfig, at: (...rest: Path) => Path): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  duplicates(stream.consumers.map((c) => c.name)).forEach((c) => add(at("consumers", c, "name"), "consumer names must be unique within a stream"));
  stream.consumers.forEach((consumer, c) => {
    const here = (...rest: Path) => at("consumers", c, ...rest);
    if (consumer.delete && !stream.allowDelete) {
      add(here("delete"), "deleting a consumer loses its position and pending acknowledgements; set allowDelete: true on the stream as well to confirm");
    }
    if (consumer.type === "push" && !consumer.deliverSubject) add(here("deliverSubject"), "a push consumer needs a deliverSubject");
    if (consumer.type === "pull" && consumer.deliverSubject) add(here("deliverSubject"), "only push consumers take a deliverSubject; remove it or set type: push");
    if (consumer.deliverSubject) {
      const loop = stream.subjects.find((subj) => subjectsOverlap(subj, consumer.deliverSubject!));
      if (loop) add(here("deliverSubject"), `overlaps the stream's subject "${loop}", so deliveries would be stored again (the server refuses the cycle); use a subject outside the stream`);
    }
    consumer.filterSubjects.forEach((filter, f) => {
      if (!stream.subjects.some((subj) => subjectsOverlap(subj, filter))) {
        add(here("filterSubjects", f), `matches none of the stream's subjects (${stream.subjects.join(", ")})`);
      }
      consumer.filterSubjects.forEach((otherFilter, g) => {
        if (g < f && subjectsOverlap(filter, otherFilter)) add(here("filterSubjects", f), `overlaps "${otherFilter}" of the same consumer; the server refuses overlapping filters`);
      });
    });
    if (stream.retention === "workqueue" && consumer.type === "pull" && consumer.ackPolicy !== "explicit") {
      add(here("ackPolicy"), "a pull consumer of a workqueue stream must use ackPolicy: explicit (the server refuses others)");
    }
  });
  if (stream.retention === "workqueue") {
    // Each message of a work queue goes to one consumer, so their subjects may not overlap.
    const live = stream.consumers.map((consumer, c) => ({ consumer, c })).filter(({ consumer }) => !consumer.delete);
    live.forEach(({ consumer, c }, k) => {
      for (const { consumer: earlier } of live.slice(0, k)) {
        const mine = consumer.filterSubjects.length ? consumer.filterSubjects : [">"];
        const theirs = earlier.filterSubjects.length ? earlier.filterSubjects : [">"];
        if (mine.some((a) => theirs.some((b) => subjectsOverlap(a, b)))) {
          add(at("consumers", c, "filterSubjects"), `overlaps consumer ${earlier.name} on this workqueue stream; give each consumer of a work queue its own subjects`);
          break;
        }
      }
    });
  }
  return problems;
}

/** Accepted but probably wrong: said to the person, never fatal. */
export function warnings(config: StackConfig): Finding[] {
  const found: Finding[] = [...clusterWarnings(config)];
  config.services.forEach((service, i) => {
    service.subscribe.forEach((subj, k) => {
      if (subj === "_INBOX.*") {
        found.push({
          path: ["services", i, "subscribe", k],
          message:
            '"_INBOX.*" matches only one token after _INBOX, but current NATS clients receive replies on "_INBOX.<id>.<n>", so requests would time out. ' +
            (service.requests
              ? 'nats-infra already grants "_INBOX.>" for replies (requests: true); this entry can be removed.'
              : 'Set requests: true (grants "_INBOX.>") if this service makes requests, and remove this entry.'),
        });
      }
    });
  });
  return found;
}

function duplicates(values: string[]): number[] {
  const seen = new Set<string>();
  const repeated: number[] = [];
  values.forEach((value, i) => (seen.has(value) ? repeated.push(i) : seen.add(value)));
  return repeated;
}


/** Paths of every string in `value` that is not well-formed Unicode. */
function brokenUnicode(value: unknown, path: Path = []): Path[] {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => brokenUnicode(item, [...path, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([key, item]) => brokenUnicode(item, [...path, key]));
  return [];
}
