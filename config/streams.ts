// JetStream streams and durable consumers declared in the stack config (`nats-infra:streams`).
// Cross-field checks (accounts exist, subjects do not overlap, limits fit) live in validate.ts.
import { z } from "zod";
import { DEFAULT_ACCOUNT, duration, size, subject } from "./primitives";

/** Names the server accepts for streams and consumers, and that are safe as subject tokens. */
export const STREAM_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
const streamName = z
  .string()
  .regex(STREAM_NAME_PATTERN, "stream and consumer names are letters, digits, '_' and '-' (no dots, spaces, '*' or '>')");

export const consumerSchema = z
  .object({
    /** Durable name. */
    name: streamName,
    type: z.enum(["pull", "push"]).default("pull"),
    /** Push consumers only: the subject messages are delivered to. */
    deliverSubject: subject.optional(),
    filterSubjects: z.array(subject).default([]),
    ackPolicy: z.enum(["explicit", "all", "none"]).default("explicit"),
    ackWait: duration.default("30s"),
    maxDeliver: z.number().int().min(-1).default(-1),
    maxAckPending: z.number().int().min(-1).default(1000),
    deliverPolicy: z.enum(["all", "last", "new", "last_per_subject"]).default("all"),
    description: z.string().max(4096).optional(),
  })
  .strict();

export const streamSchema = z
  .object({
    name: streamName,
    subjects: z.array(subject).min(1, "a stream needs at least one subject"),
    /** Account that owns the stream (defaults to the default application account). */
    account: z.string().default(DEFAULT_ACCOUNT),
    storage: z.enum(["file", "memory"]).default("file"),
    replicas: z.number().int().min(1).max(5).default(1),
    retention: z.enum(["limits", "interest", "workqueue"]).default("limits"),
    maxMsgs: z.number().int().min(-1).default(-1),
    /** Total bytes kept (-1: no limit other than the account's). */
    maxBytes: z.union([z.literal(-1), size]).default(-1),
    /** Oldest message age kept; "0s" keeps messages forever. */
    maxAge: duration.or(z.literal("0")).default("0s"),
    maxMsgSize: z.union([z.literal(-1), size]).default(-1),
    maxMsgsPerSubject: z.number().int().min(-1).default(-1),
    discard: z.enum(["old", "new"]).default("old"),
    duplicateWindow: duration.default("2m"),
    denyDelete: z.boolean().default(false),
    denyPurge: z.boolean().default(false),
    description: z.string().max(4096).optional(),
    /**
     * Removing a stream from the config never deletes it. Set this and remove the entry (or set
     * `delete: true`) to have the reconciler delete the stream and every message in it.
     */
    allowDelete: z.boolean().default(false),
    consumers: z.array(consumerSchema).default([]),
  })
  .strict();

export const streamsSchema = z.array(streamSchema);
