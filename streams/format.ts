// The plan as a person reads it, in `pulumi up` output or a terminal: one line per stream and
// consumer, the field changes under it, and every deletion spelled out before it happens.
import { changesServer, planName, type AccountPlan, type ConsumerStep, type StreamPlan } from "./plan";
import { plural, showBytes } from "./show";

const MARK: Record<StreamPlan["kind"] | ConsumerStep["kind"], string> = {
  create: "+",
  update: "~",
  unchanged: "=",
  replace: "±",
  delete: "-",
  absent: " ",
  unmanaged: "?",
  refused: "!",
};

export function formatPlans(plans: AccountPlan[]): string {
  const lines: string[] = [];
  for (const account of plans) {
    lines.push(`Account ${account.account}:`);
    if (account.streams.length === 0) lines.push("  (no streams declared or found)");
    for (const stream of account.streams) lines.push(...formatStream(stream));
  }
  lines.push("", summary(plans.flatMap((p) => p.streams)));
  return lines.join("\n");
}

function held(plan: StreamPlan): string {
  if (!plan.state) return "";
  return ` (holds ${plural(plan.state.messages, "message")}, ${showBytes(plan.state.bytes)})`;
}

export function formatStream(plan: StreamPlan): string[] {
  const name = `${planName(plan)}${plan.where ? ` [${plan.where}]` : ""}`;
  const lines: string[] = [];
  const head = (text: string) => lines.push(`  ${MARK[plan.kind]} ${text}`);
  switch (plan.kind) {
    case "create":
      head(`create ${name}: ${plan.summary}`);
      break;
    case "update":
      head(`${plan.adopt ? "adopt" : "update"} ${name}${held(plan)}${plan.adopt ? ": it exists already, created outside nats-infra; from now on nats-infra manages it" : ""}`);
      break;
    case "unchanged":
      head(`${name} is up to date${held(plan)}`);
      break;
    case "replace":
      head(`replace ${name}${held(plan)}`);
      break;
    case "delete":
      head(`delete ${name}${held(plan)} (the config says delete: true and allowDelete: true)`);
      break;
    case "absent":
      head(`${name} is marked delete: true and is not on the server; nothing to do`);
      break;
    case "unmanaged":
      head(
        `${name}${held(plan)} is not in the config: left as it is` +
          (plan.formerlyManaged
            ? "; nats-infra managed it before. To delete it, declare it again with allowDelete: true and delete: true"
            : "; nats-infra never managed it"),
      );
      break;
    case "refused":
      head(`refused ${name}${held(plan)}: nothing is changed, the stream and its messages stay as they are`);
      break;
  }
  for (const change of plan.changes) lines.push(`      ${change.field}: ${change.from} -> ${change.to}`);
  for (const loss of plan.losses) lines.push(`      DELETES: ${loss.what} [${loss.field}]`);
  for (const note of plan.notes) lines.push(`      NOTE: ${note.what} [${note.field}]`);
  for (const refusal of plan.refusals) {
    lines.push(`      cannot change ${refusal.field}: ${refusal.problem}`, "        options:");
    for (const option of refusal.options) lines.push(`          - ${option}`);
  }
  for (const consumer of plan.consumers) lines.push(...formatConsumer(consumer, plan.kind === "refused"));
  return lines;
}

function formatConsumer(step: ConsumerStep, refused: boolean): string[] {
  const name = `consumer ${step.name}`;
  const text: Record<ConsumerStep["kind"], string> = {
    create: `create ${name}: ${step.summary}`,
    update: `update ${name}`,
    unchanged: `${name} is up to date`,
    replace: `replace ${name}`,
    delete: `delete ${name} (the config says delete: true)`,
    absent: `${name} is marked delete: true and is not on the server; nothing to do`,
    unmanaged: `${name} is not in the config: left as it is`,
  };
  // In a refused stream nothing happens; the consumer lines only say what the change would be.
  const pending = refused && !["unchanged", "unmanaged", "absent"].includes(step.kind);
  const lines = [`      ${MARK[step.kind]} ${pending ? `(not applied) ${text[step.kind]}` : text[step.kind]}`];
  for (const change of step.changes) lines.push(`          ${change.field}: ${change.from} -> ${change.to}`);
  for (const loss of step.losses) lines.push(`          DELETES: ${loss.what}`);
  return lines;
}

export function summary(streams: StreamPlan[]): string {
  const count = (kind: StreamPlan["kind"]) => streams.filter((s) => s.kind === kind).length;
  const consumers = streams.flatMap((s) => s.consumers);
  const consumerCount = (kind: ConsumerStep["kind"]) => consumers.filter((c) => c.kind === kind).length;
  const refused = count("refused");
  if (!streams.some(changesServer)) {
    const upToDate = `${plural(count("unchanged"), "stream")} and ${plural(consumerCount("unchanged"), "consumer")} up to date`;
    return refused ? `Nothing to apply: ${upToDate}, ${plural(refused, "stream")} refused (see above).` : `No changes: the server matches the config (${upToDate}).`;
  }
  const parts = [
    [count("create"), "to create"],
    [count("update"), "to update or adopt"],
    [count("replace"), "to replace (delete and create again)"],
    [count("delete"), "to delete"],
    [count("unchanged"), "unchanged"],
    [refused, "refused"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`);
  const consumerParts = [
    [consumerCount("create"), "to create"],
    [consumerCount("update"), "to update"],
    [consumerCount("replace"), "to replace"],
    [consumerCount("delete"), "to delete"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`);
  return `Plan: streams ${parts.join(", ")}${consumerParts.length ? `; consumers ${consumerParts.join(", ")}` : ""}.`;
}
