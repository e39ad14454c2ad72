// JetStream reserves a stream's maxBytes from the server's and the account's storage limit when
// the stream is created. KV buckets and object stores are streams underneath and reserve the
// same way (measured on nats-server 2.14: with max_file_store 10GB, a second 6GB bucket, store or
// stream is refused with err_code 10047). So each one must fit alone and all of them together,
// or the later ones fail to be created at deploy time; this says so at preview, with the path.
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
}

const SERVER_KEY = { file: "maxFileStore", memory: "maxMemoryStore" } as const;
const ACCOUNT_KEY = { file: "maxFile", memory: "maxMemory" } as const;

/** Every stream, bucket and store that is kept (not being deleted) and has a byte limit. */
function reservations(config: StackConfig): Reservation[] {
  const all: (Reservation & { deleting: boolean })[] = [
    ...config.streams.map((s, i) => ({ path: ["streams", i, "maxBytes"], label: s.name, account: s.account, storage: s.storage, maxBytes: s.maxBytes, deleting: s.delete })),
    ...config.kv.map((b, i) => ({ path: ["kv", i, "maxBytes"], label: `KV bucket ${b.bucket}`, account: b.account, storage: b.storage, maxBytes: b.maxBytes, deleting: b.delete })),
    ...config.objectStores.map((o, i) => ({ path: ["objectStores", i, "maxBytes"], label: `object store ${o.store}`, account: o.account, storage: o.storage, maxBytes: o.maxBytes, deleting: o.delete })),
  ];
  return all.filter((r) => r.maxBytes > 0 && !r.deleting).map(({ deleting: _, ...r }) => r);
}

export function reservationProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const all = reservations(config);
  const accountLimit = (name: string, storage: Storage): number | undefined => {
    const account = config.accounts.find((a) => a.name === name);
    return account && typeof account.jetstream === "object" ? account.jetstream[ACCOUNT_KEY[storage]] : undefined;
  };

  // Each alone.
  for (const r of all) {
    const serverLimit = config.jetstream[SERVER_KEY[r.storage]];
    const ownLimit = accountLimit(r.account, r.storage);
    if (r.maxBytes > serverLimit) {
      problems.push({ path: r.path, message: `exceeds the JetStream limit jetstream.${SERVER_KEY[r.storage]} (${serverLimit} bytes); lower it or raise the limit` });
    } else if (ownLimit !== undefined && r.maxBytes > ownLimit) {
      problems.push({ path: r.path, message: `exceeds account ${r.account}'s jetstream.${ACCOUNT_KEY[r.storage]} (${ownLimit} bytes); lower it or raise the account's limit` });
    }
  }

  // All together, when each fits alone (otherwise the message above says more).
  for (const storage of ["file", "memory"] as const) {
    const serverLimit = config.jetstream[SERVER_KEY[storage]];
    const onServer = all.filter((r) => r.storage === storage);
    const total = sum(onServer);
    if (total > serverLimit && onServer.every((r) => r.maxBytes <= serverLimit)) {
      problems.push({
        path: onServer[onServer.length - 1].path,
        message: `the ${storage} streams reserve ${total} bytes in all (${onServer.map((r) => r.label).join(", ")}), more than jetstream.${SERVER_KEY[storage]} (${serverLimit} bytes); lower their maxBytes or raise the limit`,
      });
    }
    for (const account of config.accounts) {
      const limit = accountLimit(account.name, storage);
      if (limit === undefined) continue;
      const mine = onServer.filter((r) => r.account === account.name);
      const accountTotal = sum(mine);
      if (accountTotal > limit && mine.every((r) => r.maxBytes <= limit)) {
        problems.push({
          path: mine[mine.length - 1].path,
          message: `account ${account.name}'s ${storage} streams reserve ${accountTotal} bytes in all (${mine.map((r) => r.label).join(", ")}), more than its jetstream.${ACCOUNT_KEY[storage]} (${limit} bytes); lower their maxBytes or raise the limit`,
        });
      }
    }
  }
  return problems;
}

const sum = (rs: Reservation[]): number => rs.reduce((total, r) => total + r.maxBytes, 0);
