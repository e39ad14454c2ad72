// What a changed field removes from the messages a stream holds, the moment the server applies
// it. One check per data-losing field, referenced from that field's row in fields.ts; the planner
// runs them only when the stream holds messages.
import type { StreamInfo } from "@nats-io/jetstream";
import type { StreamDeclaration } from "../config/streams";
import { plural, showBytes, showNanos } from "./show";

export interface LossContext {
  /** The stream as the server holds it: its config and state (messages, bytes, oldest message). */
  info: StreamInfo;
  /** The declared stream (for a consumer's field: the stream the consumer reads). */
  stream: StreamDeclaration;
  /** Messages per subject, when needsSubjectCounts asked for them. */
  subjectCounts?: Record<string, number>;
  now: Date;
}

export interface DataLoss {
  /** What goes, for a person: "removes the 6 oldest of the 10 stored messages". */
  what: string;
  /** The least value of the field that keeps every stored message, when there is one. */
  keep?: string;
}

/** `want` and `have` are the row's compared values (server units: nanoseconds, bytes). */
export type LossCheck = (want: unknown, have: unknown, context: LossContext) => DataLoss | undefined;

export const maxMsgsLoss: LossCheck = (want, _have, { info }) => {
  const limit = want as number;
  const { messages } = info.state;
  if (limit <= 0 || messages <= limit) return undefined;
  return { what: `removes the ${messages - limit} oldest of the ${messages} stored messages`, keep: String(messages) };
};

export const maxBytesLoss: LossCheck = (want, _have, { info }) => {
  const limit = want as number;
  const { bytes } = info.state;
  if (limit <= 0 || bytes <= limit) return undefined;
  return { what: `removes the oldest messages until ${showBytes(limit)} of the ${showBytes(bytes)} stored remain`, keep: showBytes(bytes) };
};

export const maxAgeLoss: LossCheck = (want, _have, { info, now }) => {
  const limit = want as number;
  const { first_ts } = info.state;
  const oldestAgeNanos = (now.getTime() - Date.parse(first_ts)) * 1_000_000;
  if (limit <= 0 || oldestAgeNanos <= limit) return undefined;
  return { what: `removes every message older than ${showNanos(limit)} (the oldest is from ${first_ts})` };
};

/** Counted per subject, from the counts observe.ts read because needsSubjectCounts said so. */
export const perSubjectLoss: LossCheck = (want, _have, { subjectCounts }) => {
  const limit = want as number;
  if (limit <= 0) return undefined;
  const over = Object.values(subjectCounts ?? {}).filter((n) => n > limit);
  const excess = over.reduce((sum, n) => sum + n - limit, 0);
  if (excess === 0) return undefined;
  return { what: `removes ${plural(excess, "message")} from ${plural(over.length, "subject")} that hold more than ${limit}`, keep: String(Math.max(...over)) };
};

/** An interest stream keeps only what some consumer still needs; limits keeps everything. */
export const retentionLoss: LossCheck = (want, have, { info }) => {
  if (want !== "interest" || have !== "limits") return undefined;
  return { what: `removes at once every stored message that no consumer still needs (the stream holds ${plural(info.state.messages, "message")})` };
};

/** A consumer's narrower filters release messages of an interest stream that only it wanted. */
export const filterLoss: LossCheck = (_want, _have, { stream }) =>
  stream.retention === "interest" ? { what: "on an interest stream, removes at once the stored messages that no consumer wants under the new filters" } : undefined;

/** A lower per-subject limit can only be judged with the per-subject counts, which cost a request. */
export function needsSubjectCounts(stream: StreamDeclaration, info: StreamInfo | undefined): boolean {
  if (!info || info.state.messages === 0) return false;
  const want = stream.maxMsgsPerSubject;
  const have = info.config.max_msgs_per_subject;
  return want > 0 && (have <= 0 || want < have) && info.state.messages > want;
}
