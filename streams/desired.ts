// The server's view of a declared stream or consumer: the JSON fields JetStream takes, computed
// from the validated stack config. Only the fields below are managed; every other field of an
// existing stream (sources, placement, compression, metadata of others...) is left as it is.
import type { ConsumerConfig, ConsumerUpdateConfig, StreamConfig } from "@nats-io/jetstream";
import { DEFAULT_DUPLICATE_WINDOW, type ConsumerDeclaration, type StreamDeclaration } from "../config/streams";
import { parseDuration } from "../config/units";

/** Metadata key on streams nats-infra created or adopted, so a later run can tell them apart. */
export const MANAGED_KEY = "nats-infra.managed";
export const MANAGED_VALUE = "true";

/** Go durations on the wire are nanoseconds. */
export const toNanos = (duration: string): number => Math.round(parseDuration(duration === "0" ? "0s" : duration)! * 1_000_000);

export function duplicateWindowNanos(stream: StreamDeclaration): number {
  if (stream.duplicateWindow !== undefined) return toNanos(stream.duplicateWindow);
  const maxAge = toNanos(stream.maxAge);
  const fallback = toNanos(DEFAULT_DUPLICATE_WINDOW);
  // The server refuses a window longer than maxAge and shortens its own default the same way.
  return maxAge > 0 ? Math.min(fallback, maxAge) : fallback;
}

/** The managed stream fields, in the server's names. */
export type ManagedStreamConfig = Pick<
  StreamConfig,
  | "name"
  | "subjects"
  | "storage"
  | "num_replicas"
  | "retention"
  | "max_msgs"
  | "max_bytes"
  | "max_age"
  | "max_msg_size"
  | "max_msgs_per_subject"
  | "discard"
  | "duplicate_window"
  | "deny_delete"
  | "deny_purge"
  | "description"
>;

export function desiredStream(stream: StreamDeclaration): ManagedStreamConfig {
  return {
    name: stream.name,
    subjects: [...stream.subjects],
    storage: stream.storage as StreamConfig["storage"],
    num_replicas: stream.replicas,
    retention: stream.retention as StreamConfig["retention"],
    max_msgs: stream.maxMsgs,
    max_bytes: stream.maxBytes,
    max_age: toNanos(stream.maxAge),
    max_msg_size: stream.maxMsgSize,
    max_msgs_per_subject: stream.maxMsgsPerSubject,
    discard: stream.discard as StreamConfig["discard"],
    duplicate_window: duplicateWindowNanos(stream),
    deny_delete: stream.denyDelete,
    deny_purge: stream.denyPurge,
    description: stream.description,
  };
}

/** A new stream's config, marked as managed by nats-infra. */
export function streamRequest(stream: StreamDeclaration): StreamConfig {
  const config = { ...desiredStream(stream), metadata: { [MANAGED_KEY]: MANAGED_VALUE } } as unknown as StreamConfig;
  if (config.description === undefined) delete config.description;
  return config;
}

/**
 * The managed fields and the marker, for the client's update (which merges them into the server's
 * config, so fields nats-infra does not manage stay as they are). An undefined description clears it.
 */
export function streamUpdate(stream: StreamDeclaration, current: StreamConfig): Partial<StreamConfig> {
  return { ...desiredStream(stream), metadata: { ...(current.metadata ?? {}), [MANAGED_KEY]: MANAGED_VALUE } };
}

/** The managed consumer fields, in the server's names; ack timing only where acks exist. */
export function desiredConsumer(consumer: ConsumerDeclaration): Partial<ConsumerConfig> {
  const acks = consumer.ackPolicy !== "none";
  const filters = consumer.filterSubjects;
  return {
    durable_name: consumer.name,
    name: consumer.name,
    deliver_subject: consumer.type === "push" ? consumer.deliverSubject : undefined,
    // One filter goes in filter_subject: the client then uses the current create API.
    filter_subject: filters.length === 1 ? filters[0] : undefined,
    filter_subjects: filters.length > 1 ? [...filters] : undefined,
    ack_policy: consumer.ackPolicy as ConsumerConfig["ack_policy"],
    ack_wait: acks ? toNanos(consumer.ackWait) : undefined,
    max_deliver: consumer.maxDeliver,
    max_ack_pending: acks ? consumer.maxAckPending : undefined,
    deliver_policy: consumer.deliverPolicy as ConsumerConfig["deliver_policy"],
    description: consumer.description,
  };
}

/** A new consumer's config; the server fills in the rest (replay policy, max waiting...). */
export function consumerRequest(consumer: ConsumerDeclaration): ConsumerConfig {
  const config: Record<string, unknown> = { ...desiredConsumer(consumer) };
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  return config as unknown as ConsumerConfig;
}

/**
 * The fields that can change in place, for the client's update (which merges them into the
 * server's config). An undefined value clears that field: a removed filter or description.
 */
export function consumerUpdate(consumer: ConsumerDeclaration): ConsumerUpdateConfig {
  const { description, ack_wait, max_deliver, max_ack_pending, deliver_subject, filter_subject, filter_subjects } = desiredConsumer(consumer);
  return { description, ack_wait, max_deliver, max_ack_pending, deliver_subject, filter_subject, filter_subjects };
}
