// Carries out a stream's plan on the server. The plan was checked before: nothing refused gets
// here, and every deletion in it is one the config asked for with allowDelete.
import type { JetStreamManager, StreamUpdateConfig } from "@nats-io/jetstream";
import type { ConsumerStep, StreamPlan } from "./plan";

/** Which server call failed, for a message that says where the run stopped, and what to do about it. */
export class ApplyError extends Error {
  constructor(readonly step: string, cause: unknown) {
    super(`${step} failed: ${withHint(cause)}`);
    this.name = "ApplyError";
  }
}

/** The error's message, with what to do for the failures that have a known cause. */
function withHint(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The admin's rights name each declared stream, so a stream the server's auth does not know yet is denied.
  if (/Permissions Violation/i.test(message)) {
    return (
      `${message}. The JetStream admin may only touch the streams of the config the server runs with: ` +
      "apply the new auth.conf and reload the server first (pulumi up does this before the stream commands)."
    );
  }
  // Nobody answers for a stream without a leader: in a cluster, for a few seconds after a server
  // goes down, and for as long as more than half of its replicas are down.
  if (error instanceof Error && error.name === "TimeoutError") {
    return (
      `${message}: JetStream did not answer in time. In a cluster a stream has no leader for a few seconds after a server goes down, ` +
      "and none while more than half of its replicas are down: run again once the servers report healthy (/healthz)."
    );
  }
  return message;
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new ApplyError(what, error);
  }
}

export async function applyStreamPlan(jsm: JetStreamManager, plan: StreamPlan): Promise<void> {
  const name = plan.stream;
  switch (plan.kind) {
    case "refused":
    case "unmanaged":
    case "absent":
      return;
    case "delete":
      await step(`deleting stream ${name}`, () => jsm.streams.delete(name));
      return;
    case "create":
      await step(`creating stream ${name}`, () => jsm.streams.add(plan.request!));
      break;
    case "replace":
      await step(`deleting stream ${name} to recreate it`, () => jsm.streams.delete(name));
      await step(`creating stream ${name} again`, () => jsm.streams.add(plan.request!));
      break;
    case "update":
      // Consumers marked for deletion go first: a workqueue stream may need their subjects free.
      await applyConsumers(jsm, name, plan.consumers.filter((c) => c.kind === "delete"));
      await step(`updating stream ${name}`, () => jsm.streams.update(name, plan.update as Partial<StreamUpdateConfig>));
      await applyConsumers(jsm, name, plan.consumers.filter((c) => c.kind !== "delete"));
      return;
    case "unchanged":
      await applyConsumers(jsm, name, plan.consumers.filter((c) => c.kind === "delete"));
      await applyConsumers(jsm, name, plan.consumers.filter((c) => c.kind !== "delete"));
      return;
  }
  await applyConsumers(jsm, name, plan.consumers);
}

async function applyConsumers(jsm: JetStreamManager, stream: string, steps: ConsumerStep[]): Promise<void> {
  for (const consumer of steps) {
    const label = `consumer ${stream}/${consumer.name}`;
    switch (consumer.kind) {
      case "create":
        await step(`creating ${label}`, () => jsm.consumers.add(stream, consumer.request!));
        break;
      case "update":
        await step(`updating ${label}`, () => jsm.consumers.update(stream, consumer.name, consumer.update!));
        break;
      case "replace":
        await step(`deleting ${label} to recreate it`, () => jsm.consumers.delete(stream, consumer.name));
        await step(`creating ${label} again`, () => jsm.consumers.add(stream, consumer.request!));
        break;
      case "delete":
        await step(`deleting ${label}`, () => jsm.consumers.delete(stream, consumer.name));
        break;
      default:
        break;
    }
  }
}
