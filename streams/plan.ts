// What the reconciler intends to do, as data: built by diff.ts from the config and what the server
// holds, printed by format.ts, carried out by apply.ts. Nothing here talks to the server.
import type { ConsumerConfig, ConsumerUpdateConfig, StreamConfig } from "@nats-io/jetstream";

/** One field that differs, with both values written for a person ("1000000", "2m", "file"). */
export interface Change {
  /** The field's name in the stack config: `maxMsgs`, `consumers[billing].ackWait`. */
  field: string;
  from: string;
  to: string;
}

/** A change the server cannot make in place: what, why, and what the person can do instead. */
export interface Refusal {
  field: string;
  problem: string;
  options: string[];
}

/** Data a step will remove, said before it happens. */
export interface Loss {
  field: string;
  what: string;
}

/** What else a change means (it loses nothing), said before it happens. */
export interface Note {
  field: string;
  what: string;
}

export interface StreamState {
  messages: number;
  bytes: number;
  consumers: number;
}

export type ConsumerStepKind =
  /** Not on the server: create it. */
  | "create"
  /** On the server with other values for fields that can change in place. */
  | "update"
  | "unchanged"
  /** Delete and create again (a field the server cannot change; allowed by allowDelete). */
  | "replace"
  /** `delete: true` in the config. */
  | "delete"
  /** `delete: true` and already gone. */
  | "absent"
  /** On the server, not in the config: left alone. */
  | "unmanaged";

export interface ConsumerStep {
  kind: ConsumerStepKind;
  name: string;
  changes: Change[];
  losses: Loss[];
  /** For create and replace: the new consumer's config. */
  request?: ConsumerConfig;
  /** For update: the changeable fields, merged by the client into the server's config. */
  update?: ConsumerUpdateConfig;
  /** For create: a one-line description of the new consumer. */
  summary?: string;
}

export type StreamStepKind =
  | "create"
  | "update"
  | "unchanged"
  | "replace"
  | "delete"
  | "absent"
  | "unmanaged"
  /** Something in the stream or its consumers cannot be done without losing data the config does not let go. */
  | "refused";

/** How messages name a plan's stream: `stream ORDERS`, or `KV bucket sessions (stream KV_sessions)`. */
export const planName = (plan: Pick<StreamPlan, "label" | "stream">): string => plan.label ?? `stream ${plan.stream}`;

export interface StreamPlan {
  account: string;
  stream: string;
  /** A KV bucket or object store: how to name it (`KV bucket sessions (stream KV_sessions)`). */
  label?: string;
  /** Where the stream is declared, for messages: `nats-infra:streams[2]` (when known). */
  where?: string;
  kind: StreamStepKind;
  /** On the server already, but not (yet) marked as managed by nats-infra. */
  adopt: boolean;
  /** Unmanaged streams: carries the nats-infra marker, so it was in the config once. */
  formerlyManaged?: boolean;
  changes: Change[];
  losses: Loss[];
  /** For update: what else its changes mean. */
  notes: Note[];
  refusals: Refusal[];
  consumers: ConsumerStep[];
  /** What the server holds now (absent for a stream that does not exist). */
  state?: StreamState;
  /** For create and replace: the new stream's config. */
  request?: StreamConfig;
  /** For update: the managed fields, merged by the client into the server's config. */
  update?: Partial<StreamConfig>;
  /** For create: a one-line description of the new stream. */
  summary?: string;
}

export interface AccountPlan {
  account: string;
  streams: StreamPlan[];
}

/** True when applying the plan would change something on the server. */
export function changesServer(plan: StreamPlan): boolean {
  if (plan.kind === "refused" || plan.kind === "unmanaged" || plan.kind === "absent") return false;
  if (plan.kind !== "unchanged") return true;
  return plan.consumers.some((c) => c.kind !== "unchanged" && c.kind !== "unmanaged" && c.kind !== "absent");
}
