// JetStream reserves a stream's maxBytes from the server's and the account's storage limit when
// the stream is created. KV buckets and object stores are streams underneath and reserve the
// same way. Measured on nats-server 2.14.10:
// - one server, max_file_store 10GB: a second 6GB bucket, store or stream is refused (10047);
// - 3 nodes, account max_file 1GB: an R3 stream of 600MB is refused, an R1 one is created, and a
//   second R1 of 600MB is refused (the account counts maxBytes once per replica, cluster-wide);
//   each replica is on its own server, so a server's limit counts it once.
// So each one must fit alone and all of them together, or the later ones fail to be created at
// deploy time; this says so at preview, with the path a person edits.
import { nodeCount } from "./cluster";
import type { Finding, Path } from "./findings";
import type { StackConfig } from "./schema";

type Storage = "file" | "memory";

interface Reservation {
  /** Path of the maxBytes a person edits. */
  path: Path;
  /** As named in messages: the stream's name, or "KV bucket x" / "object store y". */
  label: string;
  account: string;
  storage: Storage;
  maxBytes: number;
  replicas: number;
}

const SERVER_KEY = { file: "maxFileStore", memory: "maxMemoryStore" } as const;
const ACCOUNT_KEY = { file: "maxFile", memory: "maxMemory" } as const;

/** Every stream, bucket and store that is kept (not being deleted) and has a byte limit. */
function reservations(config: StackConfig): Reservation[] {
  return [
    ...config.streams.map((s, i) => ({ ...s, path: ["streams", i, "maxBytes"], label: s.name })),
    ...config.kv.map((b, i) => ({ ...b, path: ["kv", i, "maxBytes"], label: `KV bucket ${b.bucket}` })),
    ...config.objectStores.map((o, i) => ({ ...o, path: ["objectStores", i, "maxBytes"], label: `object store ${o.store}` })),
  ].filter((r) => r.maxBytes > 0 && !r.delete);
}

/** What a stream takes from its account: maxBytes once per replica. */
const accountShare = (r: Reservation): number => r.maxBytes * r.replicas;

export function reservationProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const all = reservations(config);
  const servers = nodeCount(config);
  const accountLimit = (name: string, storage: Storage): number | undefined => {
    const account = config.accounts.find((a) => a.name === name);
    return account && typeof account.jetstream === "object" ? account.jetstream[ACCOUNT_KEY[storage]] : undefined;
  };

  // Each alone.
  for (const r of all) {
    const serverLimit = config.jetstream[SERVER_KEY[r.storage]];
    const ownLimit = accountLimit(r.account, r.storage);
    const replicated = r.replicas > 1 ? ` with its ${r.replicas} replicas (${accountShare(r)} bytes)` : "";
    if (r.maxBytes > serverLimit) {
      problems.push({ path: r.path, message: `exceeds the JetStream limit jetstream.${SERVER_KEY[r.storage]} (${serverLimit} bytes); lower it or raise the limit` });
    } else if (ownLimit !== undefined && accountShare(r) > ownLimit) {
      problems.push({ path: r.path, message: `exceeds${replicated} account ${r.account}'s jetstream.${ACCOUNT_KEY[r.storage]} (${ownLimit} bytes); lower it or raise the account's limit` });
    }
  }

  // All together, when each fits alone (otherwise the message above says more).
  for (const storage of ["file", "memory"] as const) {
    const serverLimit = config.jetstream[SERVER_KEY[storage]];
    const ofStorage = all.filter((r) => r.storage === storage);
    // Every replica needs room on some server, so together they cannot exceed all servers' room.
    // That catches what can never fit; where replicas land is the server's choice, so a cluster
    // can still refuse a tight fit this accepts (it says so at deploy, naming the stream).
    const total = sum(ofStorage);
    if (total > servers * serverLimit && ofStorage.every((r) => r.maxBytes <= serverLimit)) {
      const room = servers > 1 ? `the ${servers} servers' jetstream.${SERVER_KEY[storage]} together (${servers * serverLimit} bytes)` : `jetstream.${SERVER_KEY[storage]} (${serverLimit} bytes)`;
      problems.push({
        path: ofStorage[ofStorage.length - 1].path,
        message: `the ${storage} streams reserve ${total} bytes in all${replicasCounted(ofStorage)} (${names(ofStorage)}), more than ${room}; lower their maxBytes or raise the limit`,
      });
    }
    for (const account of config.accounts) {
      const limit = accountLimit(account.name, storage);
      if (limit === undefined) continue;
      const mine = ofStorage.filter((r) => r.account === account.name);
      const accountTotal = sum(mine);
      if (accountTotal > limit && mine.every((r) => accountShare(r) <= limit)) {
        problems.push({
          path: mine[mine.length - 1].path,
          message: `account ${account.name}'s ${storage} streams reserve ${accountTotal} bytes in all${replicasCounted(mine)} (${names(mine)}), more than its jetstream.${ACCOUNT_KEY[storage]} (${limit} bytes); lower their maxBytes or raise the limit`,
        });
      }
    }
  }
  return problems;
}

const sum = (rs: Reservation[]): number => rs.reduce((total, r) => total + accountShare(r), 0);
const names = (rs: Reservation[]): string => rs.map((r) => r.label).join(", ");
const replicasCounted = (rs: Reservation[]): string => (rs.some((r) => r.replicas > 1) ? ", each replica counted" : "");
