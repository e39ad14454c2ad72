// Cross-field rules of KV buckets, object stores, mirrors and sources (validate.ts calls in here):
// each problem with the path a person edits. Buckets and stores are streams underneath, so they
// follow a stream's rules on accounts and replicas (their byte limits: reservations.ts).
import { nodeCount } from "./cluster";
import type { Finding, Path } from "./findings";
import type { StackConfig } from "./schema";
import { kvStreamName, objectStreamName } from "./streams";
import { subjectsOverlap } from "./subjects";

export function jetstreamKindProblems(config: StackConfig): Finding[] {
  return [...storeProblems(config), ...originProblems(config)];
}

interface Store {
  key: "kv" | "objectStores";
  index: number;
  name: string;
  stream: string;
  account: string;
  storage: "file" | "memory";
  replicas: number;
  allowDelete: boolean;
  delete: boolean;
}

function stores(config: StackConfig): Store[] {
  return [
    ...config.kv.map((b, index) => ({ ...b, key: "kv" as const, index, name: b.bucket, stream: kvStreamName(b.bucket) })),
    ...config.objectStores.map((o, index) => ({ ...o, key: "objectStores" as const, index, name: o.store, stream: objectStreamName(o.store) })),
  ];
}

/**
 * Where a stream, KV bucket or object store lives: JetStream on, in a declared account with
 * JetStream, and no more replicas than servers. `at(field)` is the path of a field of it;
 * `namePath` where a disabled JetStream is reported.
 */
export function homeProblems(config: StackConfig, declared: { account: string; replicas: number }, what: string, at: (field: string) => Path, namePath: Path): Finding[] {
  const problems: Finding[] = [];
  const account = config.accounts.find((a) => a.name === declared.account);
  if (!config.jetstream.enabled) problems.push({ path: namePath, message: `JetStream is disabled (jetstream.enabled: false); enable it or remove the ${what}` });
  if (!account) {
    problems.push({ path: at("account"), message: `no such account; declared accounts: ${config.accounts.map((a) => a.name).join(", ")}` });
  } else if (account.jetstream === false) {
    problems.push({ path: at("account"), message: `JetStream is off for account ${account.name}; set its jetstream to true or move the ${what}` });
  }
  if (declared.replicas > nodeCount(config)) {
    problems.push({ path: at("replicas"), message: `must not exceed the number of servers (cluster.nodes: ${nodeCount(config)}); each replica lives on its own server` });
  }
  return problems;
}

function storeProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const all = stores(config);
  for (const store of all) {
    const at = (field: string): Path => [store.key, store.index, field];
    const what = store.key === "kv" ? "KV bucket" : "object store";
    problems.push(...homeProblems(config, store, what, at, at(store.key === "kv" ? "bucket" : "store")));
    if (store.delete && !store.allowDelete) problems.push({ path: at("delete"), message: `deleting a ${what} loses everything in it; set allowDelete: true on it as well to confirm` });
    const twice = all.find((other) => other !== store && other.key === store.key && other.account === store.account && other.name === store.name);
    if (twice && all.indexOf(twice) < all.indexOf(store)) problems.push({ path: at(store.key === "kv" ? "bucket" : "store"), message: `${what} ${store.name} is declared twice in account ${store.account}` });
    const clash = config.streams.findIndex((s) => s.account === store.account && s.name === store.stream);
    if (clash >= 0) problems.push({ path: at(store.key === "kv" ? "bucket" : "store"), message: `its stream ${store.stream} is also declared as nats-infra:streams[${clash}]; a name holds one stream` });
  }
  return problems;
}

/** Mirrors and sources read streams of their own account: not themselves, and subjects the origin has. */
function originProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  config.streams.forEach((stream, s) => {
    const origins = [
      ...(stream.mirror ? [{ path: ["streams", s, "mirror"] as Path, origin: stream.mirror }] : []),
      ...(stream.sources ?? []).map((origin, k) => ({ path: ["streams", s, "sources", k] as Path, origin })),
    ];
    for (const { path, origin } of origins) {
      if (origin.stream === stream.name) {
        problems.push({ path: [...path, "stream"], message: "a stream cannot mirror or source itself" });
        continue;
      }
      const here = config.streams.find((o) => o.account === stream.account && o.name === origin.stream);
      const elsewhere = config.streams.find((o) => o.account !== stream.account && o.name === origin.stream);
      if (!here && elsewhere) {
        problems.push({
          path: [...path, "stream"],
          message: `stream ${origin.stream} is in account ${elsewhere.account}, not ${stream.account}; mirrors and sources read streams of their own account (another account's needs an external API prefix, which nats-infra does not set up)`,
        });
      }
      if (here && origin.filterSubject && here.subjects.length > 0 && !here.subjects.some((subj) => subjectsOverlap(subj, origin.filterSubject!))) {
        problems.push({ path: [...path, "filterSubject"], message: `matches none of stream ${here.name}'s subjects (${here.subjects.join(", ")})` });
      }
    }
    const names = (stream.sources ?? []).map((o) => `${o.stream} ${o.filterSubject ?? ""}`);
    names.forEach((name, k) => {
      if (names.indexOf(name) < k) problems.push({ path: ["streams", s, "sources", k], message: "this source is listed twice" });
    });
  });
  return problems;
}
