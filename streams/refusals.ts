// What a refused change says: the problem and what the person can do instead, for changes the
// server cannot make in place and for changes that would drop stored messages.
import type { StreamDeclaration } from "../config/streams";
import type { FieldDiff } from "./compare";
import type { DataLoss } from "./losses";
import type { Refusal, StreamState } from "./plan";
import { plural } from "./show";

export function recreateStreamRefusal(stream: StreamDeclaration, diff: FieldDiff, problem: string, state: StreamState): Refusal {
  return {
    field: diff.field,
    problem,
    options: [
      `set ${diff.field} back to ${diff.from}`,
      `declare a new stream under another name with ${diff.field}: ${diff.to} and move publishers and consumers to it (${stream.name} keeps its messages until you delete it; two streams of one account cannot share subjects, so move them over in steps)`,
      `set allowDelete: true on ${stream.name} to let nats-infra delete it with its ${plural(state.messages, "message")} and create it again`,
    ],
  };
}

export function recreateConsumerRefusal(stream: StreamDeclaration, consumer: string, diff: FieldDiff, problem: string): Refusal {
  return {
    field: diff.field,
    problem,
    options: [
      `set it back to ${diff.from}`,
      `add a consumer under a new name and move its clients there (delete ${consumer} later with delete: true)`,
      `set allowDelete: true on ${stream.name} to let nats-infra delete ${consumer} and create it again (it loses its position and pending acknowledgements)`,
    ],
  };
}

export function lossRefusal(stream: StreamDeclaration, diff: FieldDiff, loss: DataLoss): Refusal {
  return {
    field: diff.field,
    problem: `${diff.from} -> ${diff.to} ${loss.what}`,
    options: [
      loss.keep ? `keep ${diff.field} at ${loss.keep} or more (it is ${diff.from} now)` : `keep ${diff.field} at ${diff.from}`,
      `remove the messages you no longer need yourself first (nats stream purge ${stream.name} ...), then run again`,
      `set allowDelete: true on ${stream.name} to accept the loss`,
    ],
  };
}

