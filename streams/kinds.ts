// KV buckets and object stores are streams underneath (KV_<bucket>, OBJ_<store>), so the planner
// plans them as streams: each declaration becomes the declaration of its stream, with the settings
// the clients give such a stream (nats.js kv/objectstore, checked against nats-server 2.14.10), and
// the stream rows are renamed to the keys a person writes (history, ttl, maxValueSize). A kind is
// that: which rows compare, and how a plan names what it plans.
import type { StreamConfig } from "@nats-io/jetstream";
import { kvStreamName, kvSubjects, objectStoreSubjects, objectStreamName, streamSchema, type KvDeclaration, type ObjectStoreDeclaration, type StreamDeclaration } from "../config/streams";

import { streamRows, STREAM_FIELDS, type Field } from "./fields";

/** A stream's declaration with the settings only KV buckets and object stores set. */
export type UnderlyingStream = StreamDeclaration & { allowRollup?: boolean; allowDirect?: boolean; compression?: "none" | "s2" };

export interface StreamKind {
  /** How plans and messages name it: `stream EVENTS`, `KV bucket sessions (stream KV_sessions)`. */
  label: string;
  rows: readonly Field<UnderlyingStream, StreamConfig>[];
}

export interface KindedStream {
  declared: UnderlyingStream;
  kind: StreamKind;
  /** The entry as written (a stream, KV bucket or object store), for `where` lookups. */
  source: StreamDeclaration | KvDeclaration | ObjectStoreDeclaration;
}

export const streamKind = (stream: StreamDeclaration): StreamKind => ({ label: `stream ${stream.name}`, rows: streamRows(stream) });

/** A flag the server leaves out when false. */
const flag = (key: "allowRollup" | "allowDirect", server: "allow_rollup_hdrs" | "allow_direct"): Field<UnderlyingStream, StreamConfig> => ({
  key,
  server: [server],
  toServer: (d) => ({ [server]: d[key] ?? false }),
  read: (c) => c[server] ?? false,
  show: String,
});

/** Settings of the stream underneath that the kind fixes (the clients rely on them), and compression. */
const STORE_ROWS: Field<UnderlyingStream, StreamConfig>[] = [
  flag("allowRollup", "allow_rollup_hdrs"),
  flag("allowDirect", "allow_direct"),
  {
    key: "compression",
    server: ["compression"],
    toServer: (d) => ({ compression: (d.compression ?? "none") as StreamConfig["compression"] }),
    read: (c) => c.compression ?? "none",
    show: (v) => String(v === "s2"),
  },
];

/** The stream rows under the names a person writes for this kind, and the kind's own rows. */
function rowsOf(renamed: Record<string, string>): Field<UnderlyingStream, StreamConfig>[] {
  // Renaming the key changes what plans say; each row's toServer still reads the stream's key.
  return [...STREAM_FIELDS.map((row) => (renamed[row.key] ? { ...row, key: renamed[row.key] as never } : row)), ...STORE_ROWS];
}

const KV_ROWS = rowsOf({ maxMsgsPerSubject: "history", maxAge: "ttl", maxMsgSize: "maxValueSize" });
const OBJECT_ROWS = rowsOf({ maxAge: "ttl" });

/** The declaration fields a bucket or store shares with its stream. */
function common(name: string, d: KvDeclaration | ObjectStoreDeclaration) {
  return {
    name,
    account: d.account,
    storage: d.storage,
    replicas: d.replicas,
    maxAge: d.ttl,
    maxBytes: d.maxBytes,
    description: d.description,
    allowDelete: d.allowDelete,
    delete: d.delete,
    discard: "new" as const,
    allowRollup: true,
    allowDirect: true,
    compression: d.compression ? ("s2" as const) : ("none" as const),
  };
}


/**
 * A bucket's stream as nats.js kv creates it: one subject per key under $KV.<bucket>, history as the
 * per-subject limit, new writes refused when full, rollups and direct gets on, message deletes off
 * (a delete is a marker), and the duplicate window of a stream with that maxAge.
 */
export function kvStream(kv: KvDeclaration): KindedStream {
  const name = kvStreamName(kv.bucket);
  const { allowRollup, allowDirect, compression, ...stream } = common(name, kv);
  const declared: UnderlyingStream = {
    ...streamSchema.parse({ ...stream, subjects: kvSubjects(kv.bucket), maxMsgsPerSubject: kv.history, maxMsgSize: kv.maxValueSize, denyDelete: true }),
    allowRollup,
    allowDirect,
    compression,
  };
  return { declared, source: kv, kind: { label: `KV bucket ${kv.bucket} (stream ${name})`, rows: KV_ROWS } };
}

/** A store's stream as nats.js objectstore creates it: chunks and metadata subjects, rollups (metadata), direct gets. */
export function objectStoreStream(store: ObjectStoreDeclaration): KindedStream {
  const name = objectStreamName(store.store);
  const { allowRollup, allowDirect, compression, ...stream } = common(name, store);
  const declared: UnderlyingStream = {
    ...streamSchema.parse({ ...stream, subjects: objectStoreSubjects(store.store) }),
    allowRollup,
    allowDirect,
    compression,
  };
  return { declared, source: store, kind: { label: `object store ${store.store} (stream ${name})`, rows: OBJECT_ROWS } };
}

/** Every declared stream, bucket and store of the config, as the streams the planner plans. */
export function kindedStreams(streams: StreamDeclaration[], kv: KvDeclaration[] = [], objectStores: ObjectStoreDeclaration[] = []): KindedStream[] {
  return [
    ...streams.map((stream) => ({ declared: stream, source: stream, kind: streamKind(stream) })),
    ...kv.map(kvStream),
    ...objectStores.map(objectStoreStream),
  ];
}
