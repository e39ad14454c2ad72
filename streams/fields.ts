// The managed fields of a stream and of a consumer, one row each: the key in the stack config,
// the server's keys (JetStream API), how a declared value becomes the server's, how a value reads
// for a person, whether the server refuses to change it after creation, what changing it
// removes from stored messages, and what else a change means (notes.ts). desired.ts builds the
// server config from these rows; compare.ts reads them to compare, refuse and display. A field
// added here is managed everywhere at once. Every other field of a stream or consumer on the
// server (sources, placement, compression, others' metadata...) is left as it is.
import type { ConsumerConfig, StreamConfig } from "@nats-io/jetstream";
import { DEFAULT_DUPLICATE_WINDOW, type ConsumerDeclaration, type StreamDeclaration } from "../config/streams";
import { parseDuration } from "../config/units";
import { filterLoss, maxAgeLoss, maxBytesLoss, maxMsgsLoss, perSubjectLoss, retentionLoss, type LossCheck } from "./losses";
import { replicasNote, type NoteCheck } from "./notes";
import { showBytes, showCount, showList, showNanos } from "./show";

export interface Field<Declared, Server> {
  /** The key in the stack config (config/streams.ts); plans and refusals name the field by it. */
  key: keyof Declared & string;
  /** The server keys this row writes (none when another row writes the key it reads). */
  server: readonly (keyof Server & string)[];
  /** The declared value as the server's entries. */
  toServer: (declared: Declared) => Partial<Server>;
  /**
   * The value compared, read from a server config, desired and actual alike: normalised for what
   * the server does not keep (subject order, false or empty values it leaves out).
   */
  read: (config: Partial<Server>) => unknown;
  /** A read value as a person writes it in the config. */
  show: (value: unknown) => string;
  /** The server refuses to change the field after creation; `when` narrows that to some changes. */
  fixed?: { why: string | ((have: unknown, want: unknown) => string); when?: (have: unknown, want: unknown) => boolean };
  /** What changing the field removes from the stored messages right away. */
  loss?: LossCheck;
  /** What else a person should know about an in-place change of the field. */
  note?: NoteCheck;
}

/** Go durations on the wire are nanoseconds; the schema has checked the syntax. */
export const toNanos = (duration: string): number => Math.round(parseDuration(duration)! * 1_000_000);

/** As declared, else the server's own default: 2m, shortened to maxAge (it refuses a longer window). */
export function duplicateWindowNanos(stream: StreamDeclaration): number {
  if (stream.duplicateWindow !== undefined) return toNanos(stream.duplicateWindow);
  const maxAge = toNanos(stream.maxAge);
  const fallback = toNanos(DEFAULT_DUPLICATE_WINDOW);
  return maxAge > 0 ? Math.min(fallback, maxAge) : fallback;
}

/** How one kind of value converts, compares and reads. */
interface Kind {
  /** Each kind takes its own declared type (a duration string, a subject list...). */
  toServer: (declared: any) => unknown;
  normalise: (server: unknown) => unknown;
  show: (value: unknown) => string;
}

const same = (value: unknown) => value;
/** Enum names (file, workqueue, explicit, last_per_subject...) and replica counts are the server's as written. */
const AS_IS: Kind = { toServer: same, normalise: same, show: String };
const COUNT: Kind = { toServer: same, normalise: same, show: (v) => showCount(v as number) };
/** Sizes are bytes already: the schema parses "64MB". */
const BYTES: Kind = { toServer: same, normalise: same, show: (v) => showBytes(v as number) };
const duration = (zero?: string): Kind => ({ toServer: toNanos, normalise: same, show: (v) => showNanos(v as number, zero) });
/** The server leaves out false booleans in some replies. */
const FLAG: Kind = { toServer: same, normalise: (v) => v ?? false, show: String };
/** Unset and empty text are the same to the server. */
const TEXT: Kind = { toServer: same, normalise: (v) => v ?? "", show: (v) => (v === "" ? "(none)" : JSON.stringify(v)) };
/** Subject lists are sets: the order written is not a change. */
const SUBJECTS: Kind = {
  toServer: (subjects: string[]) => [...subjects],
  normalise: (v) => [...((v as string[] | undefined) ?? [])].sort(),
  show: (v) => showList(v as string[]),
};

/** A field kept under one server key. */
function field<D, S>(key: keyof D & string, server: keyof S & string, kind: Kind, extra: Partial<Field<D, S>> = {}): Field<D, S> {
  return {
    key,
    server: [server],
    toServer: (declared) => ({ [server]: kind.toServer(declared[key]) }) as Partial<S>,
    read: (config) => kind.normalise(config[server]),
    show: kind.show,
    ...extra,
  };
}

const stream = field<StreamDeclaration, StreamConfig>;
/** A protection the server lets a stream gain but never lose. */
const onceOn = (key: string) => ({ why: `the server never turns ${key} off once it is on`, when: (have: unknown, want: unknown) => have === true && want === false });
const consumer = field<ConsumerDeclaration, ConsumerConfig>;

export const STREAM_FIELDS: Field<StreamDeclaration, StreamConfig>[] = [
  stream("subjects", "subjects", SUBJECTS),
  stream("storage", "storage", AS_IS, { fixed: { why: "the server cannot change the storage type of a stream" } }),
  stream("replicas", "num_replicas", AS_IS, { note: replicasNote }),
  stream("retention", "retention", AS_IS, {
    // limits <-> interest changes in place (and may lose messages: retentionLoss); workqueue never.
    fixed: { why: "the server cannot change retention to or from workqueue", when: (have, want) => have === "workqueue" || want === "workqueue" },
    loss: retentionLoss,
  }),
  stream("maxMsgs", "max_msgs", COUNT, { loss: maxMsgsLoss }),
  stream("maxBytes", "max_bytes", BYTES, { loss: maxBytesLoss }),
  stream("maxAge", "max_age", duration("0s (forever)"), { loss: maxAgeLoss }),
  stream("maxMsgSize", "max_msg_size", BYTES),
  stream("maxMsgsPerSubject", "max_msgs_per_subject", COUNT, { loss: perSubjectLoss }),
  stream("discard", "discard", AS_IS),
  stream("duplicateWindow", "duplicate_window", duration(), { toServer: (s) => ({ duplicate_window: duplicateWindowNanos(s) }) }),
  stream("denyDelete", "deny_delete", FLAG, { fixed: onceOn("denyDelete") }),
  stream("denyPurge", "deny_purge", FLAG, { fixed: onceOn("denyPurge") }),
  stream("description", "description", TEXT),
];

/** The origin of a mirror as compared: what the server keeps of it (it leaves out unset entries). */
const readMirror = (config: Partial<StreamConfig>) => {
  const { mirror } = config;
  return mirror ? { name: mirror.name, filter_subject: mirror.filter_subject ?? "", opt_start_seq: mirror.opt_start_seq ?? 0 } : undefined;
};
const showOrigin = (origin: { name: string; filter_subject?: string; opt_start_seq?: number }) =>
  `${origin.name}${origin.filter_subject ? ` (${origin.filter_subject})` : ""}${origin.opt_start_seq ? ` from seq ${origin.opt_start_seq}` : ""}`;

/** nats-server 2.14.10 refuses any change of a mirror's config, and a normal stream becoming one. */
function mirrorWhy(have: unknown, want: unknown): string {
  if (!have) return "the server cannot turn a normal stream into a mirror";
  if (!want) return "nats-infra does not turn a mirror into a normal stream (it would start taking publishes of its own)";
  return "the server cannot change a mirror's origin, filter or start";
}

/**
 * Mirror and sources (same account). Managed only for a stream that declares one of them, so a
 * stream declared without them plans exactly as before (and keeps sources made outside).
 */
export const ORIGIN_FIELDS: Field<StreamDeclaration, StreamConfig>[] = [
  {
    key: "mirror",
    server: ["mirror"],
    toServer: ({ mirror: m }) => ({ mirror: m && { name: m.stream, filter_subject: m.filterSubject, opt_start_seq: m.startSeq } }),
    read: readMirror,
    show: (v) => (v ? showOrigin(v as { name: string }) : "(none)"),
    fixed: { why: mirrorWhy },
  },
  {
    // Added and removed in place: a removed source's messages stay, new ones start arriving.
    key: "sources",
    server: ["sources"],
    toServer: ({ sources }) => ({ sources: sources?.map((s) => ({ name: s.stream, filter_subject: s.filterSubject })) }),
    read: (c) => (c.sources ?? []).map((s) => ({ name: s.name, filter_subject: s.filter_subject ?? "" })).sort((a, b) => showOrigin(a).localeCompare(showOrigin(b))),
    show: (v) => showList((v as { name: string }[]).map(showOrigin)),
  },
];

/** The rows of a declared stream: its mirror and sources only when it declares them. */
export const streamRows = (stream: StreamDeclaration) => (stream.mirror || stream.sources ? [...STREAM_FIELDS, ...ORIGIN_FIELDS] : STREAM_FIELDS);

const fixedConsumerField = (key: string) => ({ fixed: { why: `the server cannot change a consumer's ${key}` } });
/** Ack timing means nothing without acks: neither sent nor compared for ackPolicy none (the server drops it). */
function onlyWithAcks(row: Field<ConsumerDeclaration, ConsumerConfig>): Field<ConsumerDeclaration, ConsumerConfig> {
  const [key] = row.server;
  return {
    ...row,
    toServer: (declared) => (declared.ackPolicy === "none" ? { [key]: undefined } : row.toServer(declared)),
    read: (config) => (config.ack_policy === "none" ? undefined : row.read(config)),
  };
}

export const CONSUMER_FIELDS: Field<ConsumerDeclaration, ConsumerConfig>[] = [
  // The server has no type: a push consumer is one with a deliver subject, which deliverSubject writes.
  { key: "type", server: [], toServer: () => ({}), read: (c) => (c.deliver_subject ? "push" : "pull"), show: String, ...fixedConsumerField("type") },
  consumer("deliverSubject", "deliver_subject", TEXT, { toServer: (c) => ({ deliver_subject: c.type === "push" ? c.deliverSubject : undefined }) }),
  {
    key: "filterSubjects",
    server: ["filter_subject", "filter_subjects"],
    // One filter goes in filter_subject: the client then uses the current create API.
    toServer: ({ filterSubjects: f }) => ({ filter_subject: f.length === 1 ? f[0] : undefined, filter_subjects: f.length > 1 ? [...f] : undefined }),
    read: (c) => SUBJECTS.normalise(c.filter_subjects?.length ? c.filter_subjects : c.filter_subject ? [c.filter_subject] : []),
    show: SUBJECTS.show,
    loss: filterLoss,
  },
  consumer("ackPolicy", "ack_policy", AS_IS, fixedConsumerField("ackPolicy")),
  onlyWithAcks(consumer("ackWait", "ack_wait", duration())),
  consumer("maxDeliver", "max_deliver", COUNT),
  onlyWithAcks(consumer("maxAckPending", "max_ack_pending", COUNT)),
  consumer("deliverPolicy", "deliver_policy", AS_IS, fixedConsumerField("deliverPolicy")),
  consumer("description", "description", TEXT),
];
