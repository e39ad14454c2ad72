// Compares a declared stream's consumers with those on the server, as part of the stream's plan
// (diff.ts). A consumer field the server cannot change is refused, or with the stream's
// allowDelete the consumer is recreated; a consumer goes only when the config says delete: true.
import type { ConsumerInfo } from "@nats-io/jetstream";
import type { StreamDeclaration } from "../config/streams";
import { asChange, differences, fixedProblem, lossOf } from "./compare";
import { consumerRequest, consumerUpdate, type DesiredConsumer, type DesiredStream } from "./desired";
import { CONSUMER_FIELDS } from "./fields";
import type { LossContext } from "./losses";
import type { ConsumerStep, Loss, Refusal } from "./plan";
import { lossRefusal, recreateConsumerRefusal } from "./refusals";
import { plural, showList } from "./show";

/** A consumer's step, with what in it needs the stream's allowDelete. */
export type PlannedConsumer = ConsumerStep & { refusals?: Refusal[] };

export function planConsumers(desired: DesiredStream, onServer: ConsumerInfo[], context: LossContext): PlannedConsumer[] {
  const stream = desired.declared;
  const existing = new Map(onServer.map((c) => [c.name, c]));
  const steps: PlannedConsumer[] = desired.consumers.map((wanted) => {
    const found = existing.get(wanted.declared.name);
    if (wanted.declared.delete) return found ? deleteConsumer(stream, found) : absentConsumer(wanted);
    return found ? changeConsumer(stream, wanted, found, context) : createConsumer(wanted);
  });
  for (const info of onServer) {
    if (!desired.consumers.some((c) => c.declared.name === info.name)) steps.push({ kind: "unmanaged", name: info.name, changes: [], losses: [] });
  }
  return steps;
}

function changeConsumer(stream: StreamDeclaration, wanted: DesiredConsumer, existing: ConsumerInfo, context: LossContext): PlannedConsumer {
  const { name, deliverPolicy } = wanted.declared;
  const diffs = differences(CONSUMER_FIELDS, wanted.config, existing.config, `consumers[${name}].`);
  const changes = diffs.map(asChange);
  const losses: Loss[] = [];
  const refusals: Refusal[] = [];
  for (const diff of diffs) {
    const loss = lossOf(diff, context);
    if (!loss) continue;
    losses.push({ field: diff.field, what: loss.what });
    if (!stream.allowDelete) refusals.push(lossRefusal(stream, diff, loss));
  }
  const fixed = diffs.flatMap((diff) => {
    const problem = fixedProblem(diff);
    return problem ? [{ diff, problem }] : [];
  });
  if (fixed.length > 0 && stream.allowDelete) {
    const what = `deletes the consumer (${pendingText(existing)}) and creates it again, starting from deliverPolicy ${deliverPolicy}`;
    return { kind: "replace", name, changes, losses: [{ field: fixed.map((f) => f.diff.field).join(", "), what }], request: consumerRequest(wanted) };
  }
  refusals.push(...fixed.map(({ diff, problem }) => recreateConsumerRefusal(stream, name, diff, problem)));
  const kind = changes.length ? "update" : "unchanged";
  return { kind, name, changes, losses, update: changes.length ? consumerUpdate(wanted) : undefined, refusals };
}

export function createConsumer(wanted: DesiredConsumer): ConsumerStep {
  return { kind: "create", name: wanted.declared.name, changes: [], losses: [], request: consumerRequest(wanted), summary: consumerSummary(wanted) };
}

export function absentConsumer(wanted: DesiredConsumer): ConsumerStep {
  return { kind: "absent", name: wanted.declared.name, changes: [], losses: [] };
}

/** Deleting needs the stream's allowDelete: the step carries the refusal for when it is not set. */
function deleteConsumer(stream: StreamDeclaration, info: ConsumerInfo): PlannedConsumer {
  const retention = stream.retention === "limits" ? "" : `; on this ${stream.retention} stream, messages only it still needed are removed`;
  const field = `consumers[${info.name}].delete`;
  const what = `deletes the consumer (${pendingText(info)})${retention}`;
  return {
    kind: "delete",
    name: info.name,
    changes: [],
    losses: [{ field, what }],
    refusals: [{ field, problem: `delete: true ${what}, but the stream's allowDelete is not set`, options: ["remove delete: true", `set allowDelete: true on ${stream.name} as well to confirm`] }],
  };
}

function pendingText(info: ConsumerInfo): string {
  return `${plural(info.num_pending, "message")} not yet delivered, ${info.num_ack_pending} awaiting acknowledgement`;
}

function consumerSummary({ declared: consumer }: DesiredConsumer): string {
  const filter = consumer.filterSubjects.length ? `, filter ${showList(consumer.filterSubjects)}` : "";
  const target = consumer.type === "push" ? ` to ${consumer.deliverSubject}` : "";
  return `${consumer.type}${target}, ack ${consumer.ackPolicy}${filter}, deliver ${consumer.deliverPolicy}`;
}
