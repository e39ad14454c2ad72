// Checks that span several fields (names unique, references resolve, limits fit together).
// Each check reports a path into the stack config so the person can find the line to fix.
import { parseDuration } from "./units";
import { subjectCovers, subjectsOverlap } from "./subjects";
import type { StackConfig } from "./schema";

export type Path = (string | number)[];
export interface Finding {
  path: Path;
  message: string;
}

/** nats-server refuses to start when max_payload exceeds max_pending, which is 64MB by default. */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export function crossFieldProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });

  const accountNames = new Set(config.accounts.map((a) => a.name));
  duplicates(config.accounts.map((a) => a.name)).forEach((i) =>
    add(["accounts", i, "name"], "this account name is declared twice; account names must be unique"),
  );
  duplicates(config.services.map((s) => s.name)).forEach((i) =>
    add(["services", i, "name"], "this service name is declared twice; each service is one NATS user, so names must be unique"),
  );
  config.services.forEach((service, i) => {
    if (!accountNames.has(service.account)) {
      add(["services", i, "account"], `no such account; declared accounts: ${[...accountNames].join(", ")}`);
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
  if (server.clientPort === server.monitorPort) add(["server", "monitorPort"], "the monitoring port must differ from the client port");
  if (server.maxPayload > MAX_PENDING_BYTES) {
    add(["server", "maxPayload"], `must be at most 64MB (${MAX_PENDING_BYTES} bytes), the server's max_pending; large payloads belong in an object store`);
  }
  if (parseDuration(server.lameDuckGracePeriod)! >= parseDuration(server.lameDuckDuration)!) {
    add(["server", "lameDuckGracePeriod"], `must be shorter than lameDuckDuration (${server.lameDuckDuration})`);
  }
  if (config.docker.surveyor.enabled && [server.clientPort, server.monitorPort].includes(config.docker.surveyor.port)) {
    add(["docker", "surveyor", "port"], "the Surveyor port must differ from the client and monitoring ports");
  }

  problems.push(...streamProblems(config));
  return problems;
}

/** The cluster has one server today; a routed cluster raises this. */
export const SERVER_COUNT = 1;

function streamProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  config.streams.forEach((stream, s) => {
    const at = (...rest: Path): Path => ["streams", s, ...rest];
    const account = config.accounts.find((a) => a.name === stream.account);
    if (!config.jetstream.enabled) add(at("name"), "JetStream is disabled (jetstream.enabled: false); enable it or remove the stream");
    if (!account) {
      add(at("account"), `no such account; declared accounts: ${config.accounts.map((a) => a.name).join(", ")}`);
    } else if (account.jetstream === false) {
      add(at("account"), `JetStream is off for account ${account.name}; set its jetstream to true or move the stream`);
    }
    if (stream.replicas > SERVER_COUNT) add(at("replicas"), `must not exceed the number of servers (${SERVER_COUNT})`);
    const limit = stream.storage === "file" ? config.jetstream.maxFileStore : config.jetstream.maxMemoryStore;
    if (stream.maxBytes > limit) {
      const key = stream.storage === "file" ? "maxFileStore" : "maxMemoryStore";
      add(at("maxBytes"), `exceeds the JetStream limit jetstream.${key} (${limit} bytes); lower it or raise the limit`);
    }
    config.streams.forEach((other, o) => {
      if (o >= s || other.account !== stream.account) return;
      if (other.name === stream.name) add(at("name"), `stream ${stream.name} is declared twice in account ${stream.account}`);
      for (const [j, mine] of stream.subjects.entries()) {
        const clash = other.subjects.find((theirs) => subjectsOverlap(mine, theirs));
        if (clash) add(at("subjects", j), `overlaps "${clash}" of stream ${other.name} in the same account; a message may belong to one stream only`);
      }
    });
    duplicates(stream.consumers.map((c) => c.name)).forEach((c) => add(at("consumers", c, "name"), "consumer names must be unique within a stream"));
    stream.consumers.forEach((consumer, c) => {
      if (consumer.type === "push" && !consumer.deliverSubject) add(at("consumers", c, "deliverSubject"), "a push consumer needs a deliverSubject");
      if (consumer.type === "pull" && consumer.deliverSubject) add(at("consumers", c, "deliverSubject"), "only push consumers take a deliverSubject; remove it or set type: push");
      consumer.filterSubjects.forEach((filter, f) => {
        if (!stream.subjects.some((subj) => subjectsOverlap(subj, filter))) {
          add(at("consumers", c, "filterSubjects", f), `matches none of the stream's subjects (${stream.subjects.join(", ")})`);
        }
      });
    });
  });
  return problems;
}

/** Accepted but probably wrong: said to the person, never fatal. */
export function warnings(config: StackConfig): Finding[] {
  const found: Finding[] = [];
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
