// Compares one declared stream with what the server holds and decides what to do, without
// talking to the server. The rules that keep data safe live here:
// - a field the server cannot change in place is refused (or, with allowDelete, the stream or
//   consumer is recreated, and the plan says what that deletes);
// - a change that would drop stored messages now (a lower limit, limits -> interest) is refused
//   unless allowDelete;
// - nothing is deleted that the config does not mark with `delete: true`.
import type { ConsumerConfig, ConsumerInfo, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import type { ConsumerDeclaration, StreamDeclaration } from "../config/streams";
import { consumerRequest, consumerUpdate, desiredConsumer, desiredStream, MANAGED_KEY, MANAGED_VALUE, streamRequest, streamUpdate, type ManagedStreamConfig } from "./desired";
import type { Change, ConsumerStep, Loss, Refusal, StreamPlan, StreamState } from "./plan";
import { plural, showBytes, showCount, showList, showNanos } from "./show";

export interface Observed {
  /** The stream as the server has it; undefined when there is none of that name. */
  info?: StreamInfo;
  consumers: ConsumerInfo[];
  /** Messages per subject; read only when a lower maxMsgsPerSubject needs it (see needsSubjectCounts). */
  subjectCounts?: Record<string, number>;
  now: Date;
}

interface Field<Desired, Actual> {
  field: string;
  desired: (d: Desired) => unknown;
  actual: (a: Actual) => unknown;
  show: (value: unknown) => string;
}

const text = (v: unknown) => (v === undefined || v === "" ? "(none)" : JSON.stringify(v));
const plain = (v: unknown) => String(v);
const sorted = (v: unknown) => [...((v as string[] | undefined) ?? [])].sort();

const STREAM_FIELDS: Field<ManagedStreamConfig, StreamConfig>[] = [
  { field: "subjects", desired: (d) => sorted(d.subjects), actual: (a) => sorted(a.subjects), show: (v) => showList(v as string[]) },
  { field: "storage", desired: (d) => d.storage, actual: (a) => a.storage, show: plain },
  { field: "replicas", desired: (d) => d.num_replicas, actual: (a) => a.num_replicas, show: plain },
  { field: "retention", desired: (d) => d.retention, actual: (a) => a.retention, show: plain },
  { field: "maxMsgs", desired: (d) => d.max_msgs, actual: (a) => a.max_msgs, show: (v) => showCount(v as number) },
  { field: "maxBytes", desired: (d) => d.max_bytes, actual: (a) => a.max_bytes, show: (v) => showBytes(v as number) },
  { field: "maxAge", desired: (d) => d.max_age, actual: (a) => a.max_age, show: (v) => showNanos(v as number, "0s (forever)") },
  { field: "maxMsgSize", desired: (d) => d.max_msg_size, actual: (a) => a.max_msg_size, show: (v) => showBytes(v as number) },
  { field: "maxMsgsPerSubject", desired: (d) => d.max_msgs_per_subject, actual: (a) => a.max_msgs_per_subject, show: (v) => showCount(v as number) },
  { field: "discard", desired: (d) => d.discard, actual: (a) => a.discard, show: plain },
  { field: "duplicateWindow", desired: (d) => d.duplicate_window, actual: (a) => a.duplicate_window, show: (v) => showNanos(v as number) },
  { field: "denyDelete", desired: (d) => d.deny_delete, actual: (a) => a.deny_delete ?? false, show: plain },
  { field: "denyPurge", desired: (d) => d.deny_purge, actual: (a) => a.deny_purge ?? false, show: plain },
  { field: "description", desired: (d) => d.description ?? "", actual: (a) => a.description ?? "", show: text },
];

const consumerType = (c: Partial<ConsumerConfig>) => (c.deliver_subject ? "push" : "pull");
const filters = (c: Partial<ConsumerConfig>) => sorted(c.filter_subjects?.length ? c.filter_subjects : c.filter_subject ? [c.filter_subject] : []);
const acks = (c: Partial<ConsumerConfig>) => c.ack_policy !== "none";

const CONSUMER_FIELDS: Field<Partial<ConsumerConfig>, ConsumerConfig>[] = [
  { field: "type", desired: consumerType, actual: consumerType, show: plain },
  { field: "deliverSubject", desired: (d) => d.deliver_subject ?? "", actual: (a) => a.deliver_subject ?? "", show: text },
  { field: "filterSubjects", desired: filters, actual: filters, show: (v) => showList(v as string[]) },
  { field: "ackPolicy", desired: (d) => d.ack_policy, actual: (a) => a.ack_policy, show: plain },
  { field: "ackWait", desired: (d) => (acks(d) ? d.ack_wait : undefined), actual: (a) => (acks(a) ? a.ack_wait : undefined), show: (v) => showNanos(v as number) },
  { field: "maxDeliver", desired: (d) => d.max_deliver, actual: (a) => a.max_deliver, show: (v) => showCount(v as number) },
  { field: "maxAckPending", desired: (d) => (acks(d) ? d.max_ack_pending : undefined), actual: (a) => (acks(a) ? a.max_ack_pending : undefined), show: (v) => showCount(v as number) },
  { field: "deliverPolicy", desired: (d) => d.deliver_policy, actual: (a) => a.deliver_policy, show: plain },
  { field: "description", desired: (d) => d.description ?? "", actual: (a) => a.description ?? "", show: text },
];

function differences<D, A>(fields: Field<D, A>[], desired: D, actual: A, prefix = ""): Change[] {
  const changes: Change[] = [];
  for (const f of fields) {
    const want = f.desired(desired);
    const have = f.actual(actual);
    if (JSON.stringify(want) !== JSON.stringify(have)) changes.push({ field: prefix + f.field, from: f.show(have), to: f.show(want) });
  }
  return changes;
}

export function stateOf(info: StreamInfo): StreamState {
  return { messages: info.state.messages, bytes: info.state.bytes, consumers: info.state.consumer_count };
}

/** A lower per-subject limit can only be judged with the per-subject counts, which cost a request. */
export function needsSubjectCounts(stream: StreamDeclaration, info: StreamInfo | undefined): boolean {
  if (!info || info.state.messages === 0) return false;
  const want = stream.maxMsgsPerSubject;
  const have = info.config.max_msgs_per_subject;
  return want > 0 && (have <= 0 || want < have) && info.state.messages > want;
}

export function planStream(stream: StreamDeclaration, observed: Observed, where?: string): StreamPlan {
  const base = { account: stream.account, stream: stream.name, where, adopt: false, changes: [], losses: [], refusals: [], consumers: [] };
  const { info } = observed;

  if (stream.delete) {
    if (!info) return { ...base, kind: "absent" };
    const state = stateOf(info);
    const what = `deletes the stream with its ${plural(state.messages, "message")} (${showBytes(state.bytes)}) and ${plural(state.consumers, "consumer")}`;
    if (!stream.allowDelete) {
      // The config validation says the same; kept here because the command path sees one stream.
      return { ...base, kind: "refused", state, refusals: [{ field: "delete", problem: `delete: true ${what}, but allowDelete is not set`, options: ["remove delete: true", "set allowDelete: true as well to confirm"] }] };
    }
    return { ...base, kind: "delete", state, losses: [{ field: "delete", what }] };
  }

  if (!info) {
    return {
      ...base,
      kind: "create",
      request: streamRequest(stream),
      summary: streamSummary(stream),
      consumers: stream.consumers.map((c) => (c.delete ? absentConsumer(c) : createConsumer(c))),
    };
  }

  const state = stateOf(info);
  const actual = info.config;
  const desired = desiredStream(stream);
  const changes = differences(STREAM_FIELDS, desired, actual);
  const adopt = actual.metadata?.[MANAGED_KEY] !== MANAGED_VALUE;
  /** Changes only a new stream can have. */
  const fixed: Refusal[] = [];
  /** Changes that would remove stored messages. */
  const lossy: Refusal[] = [];
  const losses: Loss[] = [];
  for (const change of changes) {
    const problem = fixedStreamField(change, actual, desired);
    if (problem) fixed.push({ field: change.field, problem, options: recreateStreamOptions(stream, change, state) });
    const loss = streamLoss(change.field, stream, info, observed);
    if (loss) {
      losses.push({ field: change.field, what: loss.what });
      lossy.push({ field: change.field, problem: `${change.from} -> ${change.to} ${loss.what}`, options: lossOptions(stream, change, loss.keep) });
    }
  }
  if (actual.mirror) {
    fixed.push({
      field: "mirror",
      problem: `the stream on the server mirrors ${actual.mirror.name}; nats-infra does not manage mirrors`,
      options: [`rename the stream in the config (the mirror ${stream.name} stays as it is)`, `set allowDelete: true to let nats-infra delete the mirror with its ${plural(state.messages, "message")} and create a normal stream`],
    });
  } else if (actual.sealed) {
    fixed.push({
      field: "sealed",
      problem: "the stream on the server is sealed; the server allows no change to a sealed stream",
      options: ["rename the stream in the config (the sealed stream stays as it is)", `set allowDelete: true to let nats-infra delete it with its ${plural(state.messages, "message")} and create it again`],
    });
  }

  if (fixed.length > 0 && stream.allowDelete) {
    // Recreate: the stream goes with every consumer, declared or not, and its messages.
    const others = observed.consumers.filter((c) => !stream.consumers.some((d) => d.name === c.name)).map((c) => c.name);
    const what =
      `deletes the stream with its ${plural(state.messages, "message")} (${showBytes(state.bytes)}) and ${plural(state.consumers, "consumer")}` +
      (others.length ? ` (including ${others.join(", ")}, which the config does not declare)` : "") +
      `, then creates it again because ${fixed.map((r) => r.field).join(", ")} cannot change in place`;
    return {
      ...base,
      kind: "replace",
      adopt,
      changes,
      state,
      losses: [{ field: fixed.map((r) => r.field).join(", "), what }],
      request: streamRequest(stream),
      consumers: stream.consumers.map((c) => (c.delete ? absentConsumer(c) : createConsumer(c))),
    };
  }

  const planned = planConsumers(stream, observed, state);
  const consumers = planned.map(({ refusals: _refusals, ...step }) => step);
  const refusals = [...fixed, ...(stream.allowDelete ? [] : [...lossy, ...planned.flatMap((p) => p.refusals ?? [])])];
  if (refusals.length > 0) return { ...base, kind: "refused", adopt, changes, state, refusals, consumers };

  const kind = changes.length > 0 || adopt ? "update" : "unchanged";
  return { ...base, kind, adopt, changes, state, losses, update: kind === "update" ? streamUpdate(stream, actual) : undefined, consumers };
}

/** A stream on the server that the config does not declare: reported, never touched. */
export function planUnmanaged(info: StreamInfo, account: string): StreamPlan {
  return {
    account,
    stream: info.config.name,
    kind: "unmanaged",
    adopt: false,
    formerlyManaged: info.config.metadata?.[MANAGED_KEY] === MANAGED_VALUE,
    changes: [],
    losses: [],
    refusals: [],
    consumers: [],
    state: stateOf(info),
  };
}

function fixedStreamField(change: Change, actual: StreamConfig, desired: ManagedStreamConfig): string | undefined {
  switch (change.field) {
    case "storage":
      return "the server cannot change the storage type of a stream";
    case "retention":
      return actual.retention === "workqueue" || desired.retention === "workqueue" ? "the server cannot change retention to or from workqueue" : undefined;
    case "denyDelete":
      return actual.deny_delete && !desired.deny_delete ? "the server never turns denyDelete off once it is on" : undefined;
    case "denyPurge":
      return actual.deny_purge && !desired.deny_purge ? "the server never turns denyPurge off once it is on" : undefined;
    default:
      return undefined;
  }
}

function recreateStreamOptions(stream: StreamDeclaration, change: Change, state: StreamState): string[] {
  return [
    `set ${change.field} back to ${change.from}`,
    `declare a new stream under another name with ${change.field}: ${change.to} and move publishers and consumers to it (${stream.name} keeps its messages until you delete it; two streams of one account cannot share subjects, so move them over in steps)`,
    `set allowDelete: true on ${stream.name} to let nats-infra delete it with its ${plural(state.messages, "message")} and create it again`,
  ];
}

interface StreamLoss {
  what: string;
  /** The least value of the field that keeps every stored message, when there is one. */
  keep?: string;
}

/** What a changed field would remove from the stream right away, if anything. */
function streamLoss(field: string, stream: StreamDeclaration, info: StreamInfo, observed: Observed): StreamLoss | undefined {
  const { messages, bytes, first_ts } = info.state;
  if (messages === 0) return undefined;
  const desired = desiredStream(stream);
  switch (field) {
    case "maxMsgs":
      return desired.max_msgs > 0 && messages > desired.max_msgs
        ? { what: `removes the ${messages - desired.max_msgs} oldest of the ${messages} stored messages`, keep: String(messages) }
        : undefined;
    case "maxBytes":
      return desired.max_bytes > 0 && bytes > desired.max_bytes
        ? { what: `removes the oldest messages until ${showBytes(desired.max_bytes)} of the ${showBytes(bytes)} stored remain`, keep: showBytes(bytes) }
        : undefined;
    case "maxAge": {
      const oldest = Date.parse(first_ts);
      const ageNanos = (observed.now.getTime() - oldest) * 1_000_000;
      return desired.max_age > 0 && ageNanos > desired.max_age
        ? { what: `removes every message older than ${showNanos(desired.max_age)} (the oldest is from ${first_ts})` }
        : undefined;
    }
    case "maxMsgsPerSubject": {
      const limit = desired.max_msgs_per_subject;
      if (limit <= 0) return undefined;
      const counts = Object.values(observed.subjectCounts ?? {});
      const over = counts.filter((n) => n > limit);
      const excess = over.reduce((sum, n) => sum + n - limit, 0);
      return excess > 0 ? { what: `removes ${plural(excess, "message")} from ${plural(over.length, "subject")} that hold more than ${limit}`, keep: String(Math.max(...over)) } : undefined;
    }
    case "retention":
      return desired.retention === "interest" && info.config.retention === "limits"
        ? { what: `removes at once every stored message that no consumer still needs (the stream holds ${plural(messages, "message")})` }
        : undefined;
    default:
      return undefined;
  }
}

function lossOptions(stream: StreamDeclaration, change: Change, keep: string | undefined): string[] {
  return [
    keep ? `keep ${change.field} at ${keep} or more (it is ${change.from} now)` : `keep ${change.field} at ${change.from}`,
    `remove the messages you no longer need yourself first (nats stream purge ${stream.name} ...), then run again`,
    `set allowDelete: true on ${stream.name} to accept the loss`,
  ];
}

type PlannedConsumer = ConsumerStep & { refusals?: Refusal[] };

function planConsumers(stream: StreamDeclaration, observed: Observed, state: StreamState): PlannedConsumer[] {
  const steps: PlannedConsumer[] = [];
  const onServer = new Map(observed.consumers.map((c) => [c.name, c]));
  for (const consumer of stream.consumers) {
    const existing = onServer.get(consumer.name);
    if (consumer.delete) {
      if (!existing) steps.push(absentConsumer(consumer));
      else {
        const step: PlannedConsumer = deleteConsumer(stream, existing);
        step.refusals = [{ field: `consumers[${consumer.name}].delete`, problem: `delete: true ${step.losses[0].what}, but the stream's allowDelete is not set`, options: ["remove delete: true", `set allowDelete: true on ${stream.name} as well to confirm`] }];
        steps.push(step);
      }
      continue;
    }
    if (!existing) {
      steps.push(createConsumer(consumer));
      continue;
    }
    const prefix = `consumers[${consumer.name}].`;
    const changes = differences(CONSUMER_FIELDS, desiredConsumer(consumer), existing.config, prefix);
    const fixed = changes.filter((c) => ["type", "ackPolicy", "deliverPolicy"].includes(c.field.slice(prefix.length)));
    const losses: Loss[] = [];
    const refusals: Refusal[] = [];
    const filterChange = changes.find((c) => c.field === `${prefix}filterSubjects`);
    if (filterChange && stream.retention === "interest" && state.messages > 0) {
      const what = "removes at once the stored messages that no consumer wants under the new filters";
      losses.push({ field: filterChange.field, what });
      if (!stream.allowDelete) {
        refusals.push({ field: filterChange.field, problem: `${filterChange.from} -> ${filterChange.to} on an interest stream ${what}`, options: [`keep the filters as they are`, `set allowDelete: true on ${stream.name} to accept the loss`] });
      }
    }
    if (fixed.length > 0) {
      if (stream.allowDelete) {
        steps.push({
          kind: "replace",
          name: consumer.name,
          changes,
          losses: [{ field: fixed.map((c) => c.field).join(", "), what: `deletes the consumer (${pendingText(existing)}) and creates it again, starting from deliverPolicy ${consumer.deliverPolicy}` }],
          request: consumerRequest(consumer),
        });
        continue;
      }
      for (const change of fixed) {
        refusals.push({
          field: change.field,
          problem: `the server cannot change a consumer's ${change.field.slice(prefix.length)} (${change.from} -> ${change.to})`,
          options: [
            `set it back to ${change.from}`,
            `add a consumer under a new name and move its clients there (delete ${consumer.name} later with delete: true)`,
            `set allowDelete: true on ${stream.name} to let nats-infra delete ${consumer.name} and create it again (it loses its position and pending acknowledgements)`,
          ],
        });
      }
    }
    steps.push({
      kind: changes.length ? "update" : "unchanged",
      name: consumer.name,
      changes,
      losses,
      update: changes.length ? consumerUpdate(consumer) : undefined,
      refusals,
    });
  }
  for (const info of observed.consumers) {
    if (!stream.consumers.some((c) => c.name === info.name)) steps.push({ kind: "unmanaged", name: info.name, changes: [], losses: [] });
  }
  return steps;
}

function createConsumer(consumer: ConsumerDeclaration): ConsumerStep {
  return { kind: "create", name: consumer.name, changes: [], losses: [], request: consumerRequest(consumer), summary: consumerSummary(consumer) };
}

function absentConsumer(consumer: ConsumerDeclaration): ConsumerStep {
  return { kind: "absent", name: consumer.name, changes: [], losses: [] };
}

function deleteConsumer(stream: StreamDeclaration, info: ConsumerInfo): ConsumerStep {
  const retention = stream.retention === "limits" ? "" : `; on this ${stream.retention} stream, messages only it still needed are removed`;
  return { kind: "delete", name: info.name, changes: [], losses: [{ field: `consumers[${info.name}].delete`, what: `deletes the consumer (${pendingText(info)})${retention}` }] };
}

function pendingText(info: ConsumerInfo): string {
  return `${plural(info.num_pending, "message")} not yet delivered, ${info.num_ack_pending} awaiting acknowledgement`;
}

function streamSummary(stream: StreamDeclaration): string {
  const limits = [
    stream.maxMsgs > 0 ? `maxMsgs ${stream.maxMsgs}` : "",
    stream.maxBytes > 0 ? `maxBytes ${showBytes(stream.maxBytes)}` : "",
    stream.maxAge !== "0s" && stream.maxAge !== "0" ? `maxAge ${stream.maxAge}` : "",
  ].filter(Boolean);
  return `subjects ${showList(stream.subjects)}; ${stream.storage}, ${stream.retention}, ${plural(stream.replicas, "replica")}${limits.length ? `; ${limits.join(", ")}` : ""}`;
}

function consumerSummary(consumer: ConsumerDeclaration): string {
  const filter = consumer.filterSubjects.length ? `, filter ${showList(consumer.filterSubjects)}` : "";
  const target = consumer.type === "push" ? ` to ${consumer.deliverSubject}` : "";
  return `${consumer.type}${target}, ack ${consumer.ackPolicy}${filter}, deliver ${consumer.deliverPolicy}`;
}
