// What NatsStreams (components/natsStreams.ts) writes on the reconciler's stdin and what
// `cli/streams.ts --from-stdin` reads: one account's validated streams, keyed by stream name so
// that preview shows a change as `streams: { EVENTS: { maxMsgs: 1000000 => 2000000 } }`.
// The JSON is a Pulumi resource input: if accountStdin wrote other bytes for the same config,
// every deployed stack's next `pulumi up` would run an update. Keep its output stable.
import { StackConfigError } from "../config/load";
import { kvSchema, objectStoreSchema, streamSchema, type KvDeclaration, type ObjectStoreDeclaration, type StreamDeclaration } from "../config/streams";

/** KV buckets and object stores: keys of the JSON only when the account declares some. */
export interface AccountStores {
  kv?: KvDeclaration[];
  objectStores?: ObjectStoreDeclaration[];
}

export interface AccountStdin extends AccountStores {
  account: string;
  streams: StreamDeclaration[];
}

/**
 * The JSON form: streams keyed by name, each the parsed (defaults filled) declaration; then, only
 * when declared (so an account without them keeps its bytes), `kv` keyed by bucket and
 * `objectStores` keyed by store.
 */
export function accountStdin(account: string, streams: StreamDeclaration[], stores: AccountStores = {}): string {
  const json: Record<string, unknown> = { account, streams: Object.fromEntries(streams.map((s) => [s.name, s])) };
  if (stores.kv?.length) json.kv = Object.fromEntries(stores.kv.map((b) => [b.bucket, b]));
  if (stores.objectStores?.length) json.objectStores = Object.fromEntries(stores.objectStores.map((o) => [o.store, o]));
  return JSON.stringify(json);
}

/** Stdin that is not the contract's JSON at all (a config problem inside it is a StackConfigError). */
export class StdinError extends Error {}

/**
 * Reads what accountStdin wrote, or a single nats-infra:streams entry (for a run by hand), and
 * validates every stream again: stdin may come from anywhere.
 */
export function parseAccountStdin(raw: string): AccountStdin {
  if (!raw.trim()) throw new StdinError('stdin is empty; pipe in {"account": ..., "streams": {...}} or one nats-infra:streams entry');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new StdinError(`not JSON: ${(error as Error).message}`);
  }
  const wrapped = json !== null && typeof json === "object" && "streams" in json && "account" in json;
  const entries: [string, unknown][] = wrapped ? Object.entries((json as { streams: Record<string, unknown> }).streams ?? {}) : [["(stdin)", json]];
  const streams = parseEntries(entries, streamSchema, "", (s) => s.name, "streams are keyed by their name", wrapped);
  const account = wrapped ? String((json as { account: unknown }).account) : streams[0].account;
  const strays = streams.filter((s) => s.account !== account).map((s) => s.name);
  if (strays.length) throw new StdinError(`streams ${strays.join(", ")} are not in account ${account}`);
  const result: AccountStdin = { account, streams };
  if (!wrapped) return result;
  const { kv, objectStores } = json as { kv?: Record<string, unknown>; objectStores?: Record<string, unknown> };
  if (kv !== undefined) result.kv = parseEntries(Object.entries(kv ?? {}), kvSchema, "kv.", (b) => b.bucket, "KV buckets are keyed by their bucket", true);
  if (objectStores !== undefined) {
    result.objectStores = parseEntries(Object.entries(objectStores ?? {}), objectStoreSchema, "objectStores.", (o) => o.store, "object stores are keyed by their store", true);
  }
  const elsewhere = [
    ...(result.kv ?? []).filter((b) => b.account !== account).map((b) => `KV bucket ${b.bucket}`),
    ...(result.objectStores ?? []).filter((o) => o.account !== account).map((o) => `object store ${o.store}`),
  ];
  if (elsewhere.length) throw new StdinError(`${elsewhere.join(", ")} are not in account ${account}`);
  return result;
}

interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** Each entry validated again, its problems with their path under (stdin); keyed by its name when `keyed`. */
function parseEntries<T>(entries: [string, unknown][], schema: Schema<T>, prefix: string, nameOf: (value: T) => string, rule: string, keyed: boolean): T[] {
  const values = entries.map(([key, entry]) => {
    const parsed = schema.safeParse(entry);
    if (!parsed.success) {
      throw new StackConfigError(
        parsed.error.issues.map((issue) => ({ path: `(stdin).${prefix}${[key, ...issue.path.map(String)].join(".")}`, value: "(see the stack config)", message: issue.message })),
      );
    }
    return parsed.data;
  });
  const misnamed = keyed ? entries.filter(([key], i) => key !== nameOf(values[i])).map(([key]) => key) : [];
  if (misnamed.length) throw new StdinError(`${rule}; ${misnamed.join(", ")} holds ${rule.startsWith("streams") ? "a stream" : "an entry"} of another name`);
  return values;
}
