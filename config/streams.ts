// JetStream streams and durable consumers declared in the stack config (`nats-infra:streams`).
// Cross-field checks (accounts exist, subjects do not overlap, limits fit) live in validate.ts.
// The reconciler (streams/) turns these declarations into server requests; everything a
// person can write here maps to exactly one field of the server's stream or consumer config.
import { z } from "zod";
import { DEFAULT_ACCOUNT, duration, size, subject } from "./primitives";

/**
 * Names the server accepts for streams and consumers (it refuses '.', '*', '>', whitespace and
 * path separators, and more than 255 characters), narrowed to characters that are also safe as a
 * subject token in permissions (`$JS.API.STREAM.CREATE.<name>`) and as a Pulumi resource name.
 */
export const STREAM_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
const streamName = z
  .string()
  .regex(STREAM_NAME_PATTERN, "stream and consumer names are 1-255 letters, digits, '_' and '-' (no dots, spaces, '*' or '>')");

/** A limit where -1 means "none"; 0 is refused because the server silently turns it into -1 or a default. */
const limit = (what: string) =>
  z
    .number()
    .int()
    .min(-1)
    .refine((n) => n !== 0, `0 is not a ${what}; use -1 for no limit`);

/** "0s" keeps messages forever; a bare "0" (no unit) is read as "0s", so later code sees one spelling. */
const forever = z
  .literal("0")
  .transform(() => "0s")
  .or(duration)
  .default("0s");

const byteLimit = z.union([z.literal(-1), size]).refine((n) => n !== 0, "0 bytes is not a limit; use -1 for no limit");

/** Another stream of the same account, read by a mirror or a source, optionally only some subjects. */
const originSchema = z.object({ stream: streamName, filterSubject: subject.optional() }).strict();

export const consumerSchema = z
  .object({
    /** Durable name; applications bind to the consumer by this name. */
    name: streamName,
    /** pull: clients fetch batches (the usual choice); push: the server sends to deliverSubject. */
    type: z.enum(["pull", "push"]).default("pull"),
    /** Push consumers only: the subject messages are delivered to. */
    deliverSubject: subject.optional(),
    /** Only messages on these subjects (all of the stream's when empty). */
    filterSubjects: z.array(subject).default([]),
    /** Fixed at creation by the server. */
    ackPolicy: z.enum(["explicit", "all", "none"]).default("explicit"),
    ackWait: duration.default("30s"),
    /** Deliveries of one message before the server gives up on it (-1: no limit). */
    maxDeliver: limit("delivery count").default(-1),
    /** Unacknowledged messages in flight before delivery pauses (-1: no limit). */
    maxAckPending: limit("pending count").default(1000),
    /** Where a new consumer starts; fixed at creation by the server. */
    deliverPolicy: z.enum(["all", "last", "new", "last_per_subject"]).default("all"),
    description: z.string().max(4096).optional(),
    /** Delete this consumer (and its position in the stream); needs the stream's allowDelete. */
    delete: z.boolean().default(false),
  })
  .strict();

export const streamSchema = z
  .object({
    name: streamName,
    /** At least one, except on a mirror, which has none (it stores what its origin holds). */
    subjects: z.array(subject).default([]),
    /** Account that owns the stream (defaults to the default application account). */
    account: z.string().default(DEFAULT_ACCOUNT),
    /** Fixed at creation by the server. */
    storage: z.enum(["file", "memory"]).default("file"),
    replicas: z.number().int().min(1).max(5).default(1),
    /** limits <-> interest can change later; to or from workqueue cannot. */
    retention: z.enum(["limits", "interest", "workqueue"]).default("limits"),
    maxMsgs: limit("message limit").default(-1),
    /** Total bytes kept (-1: no limit other than the account's). */
    maxBytes: byteLimit.default(-1),
    /**
     * Oldest message age kept; "0s" keeps messages forever. A bare "0" (no unit) is read as "0s"
     * here, so everything after parsing sees one spelling of "forever".
     */
    maxAge: forever,
    maxMsgSize: byteLimit.default(-1),
    maxMsgsPerSubject: limit("per-subject limit").default(-1),
    /** When a limit is reached: drop the oldest messages, or refuse new ones. */
    discard: z.enum(["old", "new"]).default("old"),
    /** Window for de-duplicating on Nats-Msg-Id; defaults to 2m, or maxAge when that is shorter. */
    duplicateWindow: duration.optional(),
    /** Once true, the server never lets it go back to false. */
    denyDelete: z.boolean().default(false),
    /** Once true, the server never lets it go back to false. */
    denyPurge: z.boolean().default(false),
    description: z.string().max(4096).optional(),
    /** Copy every message of another stream of the account; fixed at creation by the server. */
    mirror: originSchema.extend({ startSeq: z.number().int().min(1).optional() }).strict().optional(),
    /** Also store the messages of these streams of the account; added and removed in place. Left out: the server's sources stay as they are. */
    sources: z.array(originSchema).optional(),
    /**
     * Lets the reconciler lose data of this stream when the config asks for it: `delete: true`
     * here or on a consumer, a change the server can only make by recreating the stream or a
     * consumer, and lowered limits that drop stored messages. Off, such changes are refused.
     * Removing a stream from the config never deletes it.
     */
    allowDelete: z.boolean().default(false),
    /** Delete the stream and every message in it; needs allowDelete. */
    delete: z.boolean().default(false),
    consumers: z.array(consumerSchema).default([]),
  })
  .strict()
  .superRefine((stream, ctx) => {
    // The server's rules for mirrors (checked on 2.14.10): no subjects, no sources beside the mirror.
    if (!stream.mirror && stream.subjects.length === 0) ctx.addIssue({ code: "custom", path: ["subjects"], message: "a stream needs at least one subject" });
    if (stream.mirror && stream.subjects.length > 0) {
      ctx.addIssue({ code: "custom", path: ["subjects"], message: "a mirror has no subjects of its own (it stores what its origin holds; the server refuses them); remove subjects" });
    }
    if (stream.mirror && stream.sources) ctx.addIssue({ code: "custom", path: ["sources"], message: "a mirror cannot have sources as well (the server refuses it); use one or the other" });
  });

export const streamsSchema = z.array(streamSchema);

/**
 * KV bucket and object store names: what nats.js and the Go client accept (letters, digits, '_'
 * and '-'), short enough that the stream underneath (KV_<bucket>, OBJ_<store>) is a valid name.
 */
const storeName = (what: string, prefix: string) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_-]{1,${255 - prefix.length}}$`), `${what} names are 1-${255 - prefix.length} letters, digits, '_' and '-'`);

/** What KV buckets and object stores share: where they live and how much they keep. */
const storeFields = {
  account: z.string().default(DEFAULT_ACCOUNT),
  /** Fixed at creation by the server. */
  storage: z.enum(["file", "memory"]).default("file"),
  replicas: z.number().int().min(1).max(5).default(1),
  /** How long an entry is kept; "0s" (the default) keeps it forever. */
  ttl: forever,
  /** Total bytes kept (-1: no limit other than the account's). */
  maxBytes: byteLimit.default(-1),
  /** s2 compression of the stored data; can change in place (new data only). */
  compression: z.boolean().default(false),
  description: z.string().max(4096).optional(),
  /** As on a stream: lets the reconciler lose data when the config asks (delete, recreate, lower limits). */
  allowDelete: z.boolean().default(false),
  /** Delete the bucket or store with everything in it; needs allowDelete. */
  delete: z.boolean().default(false),
};

/** A KV bucket (`nats-infra:kv`): the stream KV_<bucket> underneath. */
export const kvSchema = z
  .object({
    bucket: storeName("KV bucket", "KV_"),
    /** Revisions kept per key, 1-64 (the clients' limit); lowering it with data removes old revisions. */
    history: z.number().int().min(1).max(64).default(1),
    /** Largest value accepted (-1: the server's max_payload). */
    maxValueSize: byteLimit.default(-1),
    ...storeFields,
  })
  .strict();

/** An object store (`nats-infra:objectStores`): the stream OBJ_<store> underneath. */
export const objectStoreSchema = z
  .object({ store: storeName("object store", "OBJ_"), ...storeFields })
  .strict();

export const kvBucketsSchema = z.array(kvSchema);
export const objectStoresSchema = z.array(objectStoreSchema);

export type KvDeclaration = z.output<typeof kvSchema>;
export type ObjectStoreDeclaration = z.output<typeof objectStoreSchema>;

export type StreamDeclaration = z.output<typeof streamSchema>;
export type ConsumerDeclaration = z.output<typeof consumerSchema>;

/** The duplicate window the server gets: as written, else 2m capped at maxAge (the server's rule). */
export const DEFAULT_DUPLICATE_WINDOW = "2m";

/**
 * The stream a KV bucket or object store lives in, and its subjects: the names the nats.js and
 * nats-py clients use. The reconciler creates these streams (streams/kinds.ts) and the services'
 * KV and object intents are granted on them (config/jetstreamIntent.ts).
 */
export const kvStreamName = (bucket: string) => `KV_${bucket}`;
export const kvSubjects = (bucket: string) => [`$KV.${bucket}.>`];
export const objectStreamName = (store: string) => `OBJ_${store}`;
/** One message per object, its last one the current metadata (name, size, chunks, or a tombstone). */
export const objectMetadataSubject = (store: string) => `$O.${store}.M.>`;
/** Chunks, then metadata. */
export const objectStoreSubjects = (store: string) => [`$O.${store}.C.>`, objectMetadataSubject(store)];
