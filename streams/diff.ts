// Compares one declared stream with what the server holds and decides what to do, without
// talking to the server. The rules that keep data safe live here and in the field table
// (fields.ts):
// - a field the server cannot change in place is refused (or, with allowDelete, the stream or
//   consumer is recreated, and the plan says what that deletes);
// - a change that would drop stored messages now (a lower limit, limits -> interest) is refused
//   unless allowDelete;
// - nothing is deleted that the config does not mark with `delete: true`.
import type { ConsumerInfo, StreamInfo } from "@nats-io/jetstream";
import type { StreamDeclaration } from "../config/streams";
import { asChange, differences, fixedProblem, lossOf, noteOf } from "./compare";
import { absentConsumer, createConsumer, planConsumers } from "./consumerPlan";
import { desiredStream, MANAGED_KEY, MANAGED_VALUE, streamRequest, streamUpdate, type DesiredStream } from "./desired";
import { ORIGIN_FIELDS, STREAM_FIELDS } from "./fields";
import { streamKind, type StreamKind } from "./kinds";
import type { LossContext } from "./losses";
import type { Loss, Refusal, StreamPlan, StreamState } from "./plan";
import { lossRefusal, recreateStreamRefusal } from "./refusals";
import { plural, showBytes, showList } from "./show";

export interface Observed {
  /** The stream as the server has it; undefined when there is none of that name. */
  info?: StreamInfo;
  consumers: ConsumerInfo[];
  /** Messages per subject; read only when a lower maxMsgsPerSubject needs it (see needsSubjectCounts). */
  subjectCounts?: Record<string, number>;
  now: Date;
}

export function stateOf(info: StreamInfo): StreamState {
  return { messages: info.state.messages, bytes: info.state.bytes, consumers: info.state.consumer_count };
}

/** `type`: the rows to compare and the plan's label, for a KV bucket or object store (kinds.ts). */
export function planStream(stream: StreamDeclaration, observed: Observed, where?: string, type: StreamKind = streamKind(stream)): StreamPlan {
  const label = type.label === `stream ${stream.name}` ? {} : { label: type.label };
  const base = { account: stream.account, stream: stream.name, ...label, where, adopt: false, changes: [], losses: [], notes: [], refusals: [], consumers: [] };
  const { info } = observed;

  if (stream.delete) {
    if (!info) return { ...base, kind: "absent" };
    const state = stateOf(info);
    const what = deletesStream(state);
    if (!stream.allowDelete) {
      // The config validation says the same; kept here because the command path sees one stream.
      return { ...base, kind: "refused", state, refusals: [{ field: "delete", problem: `delete: true ${what}, but allowDelete is not set`, options: ["remove delete: true", "set allowDelete: true as well to confirm"] }] };
    }
    return { ...base, kind: "delete", state, losses: [{ field: "delete", what }] };
  }

  // The one place the declaration becomes the server's config; every step below reads it.
  const desired = desiredStream(stream, type.rows);
  if (!info) return { ...base, kind: "create", request: streamRequest(desired), summary: streamSummary(desired), consumers: freshConsumers(desired) };

  const state = stateOf(info);
  const actual = info.config;
  const diffs = differences(type.rows, desired.config, actual);
  const changes = diffs.map(asChange);
  const adopt = actual.metadata?.[MANAGED_KEY] !== MANAGED_VALUE;
  const context: LossContext = { info, stream, subjectCounts: observed.subjectCounts, now: observed.now };
  /** Changes only a new stream can have. */
  const fixed: Refusal[] = [];
  /** Changes that would remove stored messages. */
  const lossy: Refusal[] = [];
  const losses: Loss[] = [];
  for (const diff of diffs) {
    const problem = fixedProblem(diff);
    if (problem) fixed.push(recreateStreamRefusal(stream, diff, problem, state));
    const loss = lossOf(diff, context);
    if (loss) {
      losses.push({ field: diff.field, what: loss.what });
      lossy.push(lossRefusal(stream, diff, loss));
    }
  }
  const managesMirror = type.rows.includes(ORIGIN_FIELDS[0]);
  const notAdoptable = refuseMirrorOrSealed(stream, info, state, managesMirror);
  if (notAdoptable) fixed.push(notAdoptable);

  if (fixed.length > 0 && stream.allowDelete) {
    // Recreate: the stream goes with every consumer, declared or not, and its messages.
    const others = observed.consumers.filter((c) => !stream.consumers.some((d) => d.name === c.name)).map((c) => c.name);
    const what =
      deletesStream(state) +
      (others.length ? ` (including ${others.join(", ")}, which the config does not declare)` : "") +
      `, then creates it again because ${fixed.map((r) => r.field).join(", ")} cannot change in place`;
    return {
      ...base,
      kind: "replace",
      adopt,
      changes,
      state,
      losses: [{ field: fixed.map((r) => r.field).join(", "), what }],
      request: streamRequest(desired),
      consumers: freshConsumers(desired),
    };
  }

  const planned = planConsumers(desired, observed.consumers, context);
  const consumers = planned.map(({ refusals: _refusals, ...step }) => step);
  const refusals = [...fixed, ...(stream.allowDelete ? [] : [...lossy, ...planned.flatMap((p) => p.refusals ?? [])])];
  if (refusals.length > 0) return { ...base, kind: "refused", adopt, changes, state, refusals, consumers };

  const kind = changes.length > 0 || adopt ? "update" : "unchanged";
  const notes = diffs.flatMap((diff) => noteOf(diff) ?? []);
  return { ...base, kind, adopt, changes, state, losses, notes, update: kind === "update" ? streamUpdate(desired, actual) : undefined, consumers };
}

const deletesStream = (state: StreamState) =>
  `deletes the stream with its ${plural(state.messages, "message")} (${showBytes(state.bytes)}) and ${plural(state.consumers, "consumer")}`;

/** The consumers of a stream about to be created: all new, except those marked for deletion. */
function freshConsumers(desired: DesiredStream) {
  return desired.consumers.map((c) => (c.declared.delete ? absentConsumer(c) : createConsumer(c)));
}

/** A mirror or a sealed stream of the declared name cannot become the declared stream in place. */
function refuseMirrorOrSealed(stream: StreamDeclaration, info: StreamInfo, state: StreamState, managesMirror: boolean): Refusal | undefined {
  const { mirror, sealed } = info.config;
  // A stream that declares a mirror or sources compares the mirror in its rows (fields.ts).
  if (mirror && !managesMirror) {
    return {
      field: "mirror",
      problem: `the stream on the server mirrors ${mirror.name}; nats-infra does not manage mirrors`,
      options: [`rename the stream in the config (the mirror ${stream.name} stays as it is)`, `set allowDelete: true to let nats-infra delete the mirror with its ${plural(state.messages, "message")} and create a normal stream`],
    };
  }
  if (sealed) {
    return {
      field: "sealed",
      problem: "the stream on the server is sealed; the server allows no change to a sealed stream",
      options: ["rename the stream in the config (the sealed stream stays as it is)", `set allowDelete: true to let nats-infra delete it with its ${plural(state.messages, "message")} and create it again`],
    };
  }
  return undefined;
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
    notes: [],
    refusals: [],
    consumers: [],
    state: stateOf(info),
  };
}

/** The limits a new stream's one-line summary names when they are set, shown as their rows show them. */
const SUMMARY_LIMITS = STREAM_FIELDS.filter((row) => ["maxMsgs", "maxBytes", "maxAge"].includes(row.key));

function streamSummary({ declared: stream, config }: DesiredStream): string {
  const limits = SUMMARY_LIMITS.flatMap((row) => {
    const value = row.read(config) as number;
    return value > 0 ? [`${row.key} ${row.show(value)}`] : [];
  });
  const origin = stream.mirror ? `mirror of ${stream.mirror.stream}` : `subjects ${showList(stream.subjects)}`;
  const sources = stream.sources?.length ? `; sources ${showList(stream.sources.map((s) => s.stream))}` : "";
  return `${origin}${sources}; ${stream.storage}, ${stream.retention}, ${plural(stream.replicas, "replica")}${limits.length ? `; ${limits.join(", ")}` : ""}`;
}
