// What the server would answer for the planner's tests, written by hand: a stream and consumers
// as nats-server 2.14 returns them for a stream declared with every default (captured once from
// `jsm.streams.info` and `jsm.consumers.info`), changed per test in the server's own units.
import type { ConsumerConfig, ConsumerInfo, StreamConfig, StreamInfo, StreamState } from "@nats-io/jetstream";
import type { z } from "zod";
import { streamSchema, type StreamDeclaration } from "../../config/streams";
import type { Observed } from "../../streams/diff";

export const STREAM = "ORDERS";
export const NOW = new Date("2026-01-01T12:00:00Z");

export type StreamInput = z.input<typeof streamSchema>;
export type ConsumerInput = NonNullable<StreamInput["consumers"]>[number];

/** The declaration as the stack config parses it, for stream ORDERS on orders.>. */
export const declare = (input: Partial<StreamInput> = {}): StreamDeclaration => streamSchema.parse({ name: STREAM, subjects: ["orders.>"], ...input });

export function serverStream(config: Partial<StreamConfig> = {}, state: Partial<StreamState> = {}): StreamInfo {
  return {
    total: 0,
    offset: 0,
    limit: 0,
    config: {
      name: STREAM,
      subjects: ["orders.>"],
      retention: "limits",
      max_consumers: -1,
      max_msgs: -1,
      max_bytes: -1,
      max_age: 0,
      max_msgs_per_subject: -1,
      max_msg_size: -1,
      discard: "old",
      storage: "file",
      num_replicas: 1,
      duplicate_window: 120_000_000_000,
      compression: "none",
      allow_direct: false,
      mirror_direct: false,
      sealed: false,
      deny_delete: false,
      deny_purge: false,
      allow_rollup_hdrs: false,
      consumer_limits: {},
      allow_msg_ttl: false,
      metadata: { "_nats.level": "4", "_nats.ver": "2.14.10", "nats-infra.managed": "true" },
      ...config,
    },
    created: "2025-12-01T00:00:00Z",
    state: {
      messages: 0,
      bytes: 0,
      first_seq: 0,
      first_ts: "0001-01-01T00:00:00Z",
      last_seq: 0,
      last_ts: "0001-01-01T00:00:00Z",
      num_deleted: 0,
      deleted: [],
      lost: { msgs: null, bytes: 0 },
      consumer_count: 0,
      ...state,
    },
  } as unknown as StreamInfo;
}

/** A pull consumer with explicit acks and every other default, as the server reports it. */
export function serverConsumer(name: string, config: Partial<ConsumerConfig> = {}, pending = { num_pending: 0, num_ack_pending: 0 }): ConsumerInfo {
  return {
    stream_name: STREAM,
    name,
    created: "2025-12-01T00:00:00Z",
    config: {
      durable_name: name,
      name,
      deliver_policy: "all",
      ack_policy: "explicit",
      ack_wait: 30_000_000_000,
      max_deliver: -1,
      replay_policy: "instant",
      max_waiting: 512,
      max_ack_pending: 1000,
      num_replicas: 0,
      metadata: { "_nats.req.level": "0" },
      ...config,
    },
    delivered: { consumer_seq: 0, stream_seq: 0 },
    ack_floor: { consumer_seq: 0, stream_seq: 0 },
    num_redelivered: 0,
    num_waiting: 0,
    push_bound: false,
    ...pending,
  } as unknown as ConsumerInfo;
}

export function observed(info?: StreamInfo, consumers: ConsumerInfo[] = [], subjectCounts?: Record<string, number>): Observed {
  return { info, consumers, subjectCounts, now: NOW };
}
