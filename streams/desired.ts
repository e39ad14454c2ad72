// The server's view of a declared stream and its consumers, computed once per stream from the
// rows of fields.ts, and the requests made of it: a new stream or consumer, or the update the
// client merges into what the server holds.
import type { ConsumerConfig, ConsumerUpdateConfig, StreamConfig } from "@nats-io/jetstream";
import type { ConsumerDeclaration, StreamDeclaration } from "../config/streams";
import { serverConfig } from "./compare";
import { CONSUMER_FIELDS, streamRows, type Field } from "./fields";

/** Metadata key on streams nats-infra created or adopted, so a later run can tell them apart. */
export const MANAGED_KEY = "nats-infra.managed";
export const MANAGED_VALUE = "true";

/** The managed stream fields, in the server's names. */
export type ManagedStreamConfig = Pick<StreamConfig, "name"> & Partial<StreamConfig>;

export interface DesiredConsumer {
  declared: ConsumerDeclaration;
  config: Partial<ConsumerConfig>;
}

export interface DesiredStream {
  declared: StreamDeclaration;
  config: ManagedStreamConfig;
  consumers: DesiredConsumer[];
}

/** `rows`: the stream's own (streamRows), or a KV bucket's or object store's (kinds.ts). */
export function desiredStream<D extends StreamDeclaration>(stream: D, rows: readonly Field<D, StreamConfig>[] = streamRows(stream)): DesiredStream {
  return { declared: stream, config: { name: stream.name, ...serverConfig(rows, stream) }, consumers: stream.consumers.map(desiredConsumer) };
}

function desiredConsumer(consumer: ConsumerDeclaration): DesiredConsumer {
  return { declared: consumer, config: { durable_name: consumer.name, name: consumer.name, ...serverConfig(CONSUMER_FIELDS, consumer) } };
}

/** A request for a new object: the server fills in what is left out, so unset fields are left out. */
function definedOnly<T extends object>(config: T): T {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as T;
}

/** A new stream's config, marked as managed by nats-infra. */
export function streamRequest(desired: DesiredStream): StreamConfig {
  return { ...definedOnly(desired.config), metadata: { [MANAGED_KEY]: MANAGED_VALUE } } as StreamConfig;
}

/**
 * The managed fields and the marker, for the client's update (which merges them into the server's
 * config, so fields nats-infra does not manage stay as they are). An undefined description clears it.
 */
export function streamUpdate(desired: DesiredStream, current: StreamConfig): Partial<StreamConfig> {
  return { ...desired.config, metadata: { ...(current.metadata ?? {}), [MANAGED_KEY]: MANAGED_VALUE } };
}

/** A new consumer's config; the server fills in the rest (replay policy, max waiting...). */
export function consumerRequest(desired: DesiredConsumer): ConsumerConfig {
  return definedOnly(desired.config) as ConsumerConfig;
}

/** What the server can change in place: the keys of the rows that are not fixed at creation. */
const UPDATABLE_CONSUMER_KEYS = CONSUMER_FIELDS.filter((row) => !row.fixed).flatMap((row) => row.server);

/**
 * The fields that can change in place, for the client's update (which merges them into the
 * server's config). An undefined value clears that field: a removed filter or description.
 */
export function consumerUpdate(desired: DesiredConsumer): ConsumerUpdateConfig {
  return Object.fromEntries(UPDATABLE_CONSUMER_KEYS.map((key) => [key, desired.config[key]])) as ConsumerUpdateConfig;
}
