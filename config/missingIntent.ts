// When the server denies a service a JetStream subject, which intent would have granted it: the
// answer a person needs instead of a bare "Permissions Violation". Read from the subject alone
// (the JetStream API and the KV and object store subjects the clients use, as compiled in
// jetstreamIntent.ts), so it works on the server's log line.
import { subjectCovers } from "./subjects";
import type { StackConfig } from "./schema";

export interface Denial {
  user: string;
  kind: "publish" | "subscribe";
  subject: string;
}

/** `services[i].jetstream.<key>` gains `entry`, in the words of the stack file. */
interface MissingIntent {
  key: "publish" | "consume" | "read" | "kv" | "objects";
  entry: string;
  why: string;
}

const KV_STREAM = /^KV_(.+)$/;
const OBJ_STREAM = /^OBJ_(.+)$/;

function fromSubject(config: StackConfig, account: string, subject: string): MissingIntent | undefined {
  const parts = subject.split(".");
  const api = (prefix: string) => subject.startsWith(`$JS.API.${prefix}.`) ? subject.slice(`$JS.API.${prefix}.`.length).split(".") : undefined;
  const consumerOf = api("CONSUMER.MSG.NEXT") ?? api("CONSUMER.INFO") ?? (parts[0] === "$JS" && parts[1] === "ACK" ? parts.slice(2) : undefined);
  if (consumerOf && consumerOf.length >= 2 && !KV_STREAM.test(consumerOf[0]) && !OBJ_STREAM.test(consumerOf[0])) {
    const [stream, consumer] = consumerOf;
    return { key: "consume", entry: `{ stream: ${stream}, consumer: ${consumer} }`, why: `reading stream ${stream} through its consumer ${consumer}` };
  }
  const streamOf = api("STREAM.INFO") ?? api("STREAM.MSG.GET") ?? api("DIRECT.GET") ?? api("CONSUMER.CREATE");
  if (streamOf) {
    const stream = streamOf[0];
    const bucket = KV_STREAM.exec(stream)?.[1];
    if (bucket) return { key: "kv", entry: `{ bucket: ${bucket}, access: read }`, why: `reading KV bucket ${bucket}` };
    const store = OBJ_STREAM.exec(stream)?.[1];
    if (store) return { key: "objects", entry: `{ store: ${store}, access: read }`, why: `reading object store ${store}` };
    if (subject.startsWith("$JS.API.CONSUMER.CREATE.")) return undefined; // no intent creates consumers on a stream
    return { key: "read", entry: stream, why: `reading stream ${stream}` };
  }
  if (parts[0] === "$KV" && parts.length >= 3) return { key: "kv", entry: `{ bucket: ${parts[1]}, access: write }`, why: `writing KV bucket ${parts[1]}` };
  if (parts[0] === "$O" && parts.length >= 3) return { key: "objects", entry: `{ store: ${parts[1]}, access: write }`, why: `writing object store ${parts[1]}` };
  const captured = config.streams.find((s) => s.account === account && s.subjects.some((pattern) => subjectCovers(pattern, subject)));
  if (captured) return { key: "publish", entry: captured.name, why: `publishing to stream ${captured.name}` };
  return undefined;
}

/**
 * One line for a denied JetStream subject of a declared service: what the subject is for and the
 * intent to add, with its path; undefined when the subject is not one an intent grants (a plain
 * subject belongs in the service's publish or subscribe list, which the server's words say).
 */
export function explainDenial(config: StackConfig, denial: Denial): string | undefined {
  const index = config.services.findIndex((s) => s.name === denial.user);
  if (index < 0) return undefined;
  const service = config.services[index];
  const missing = fromSubject(config, service.account, denial.subject);
  if (!missing) return undefined;
  return (
    `${denial.user} was denied ${denial.kind} to "${denial.subject}" (${missing.why}): ` +
    `add ${missing.entry} to nats-infra:services[${index}].jetstream.${missing.key}`
  );
}

/** A nats-server log line about a permissions violation: `"<ACCOUNT>/user:<USER>" - Publish Violation - Subject "<s>"`. */
export function parseViolation(line: string): Denial | undefined {
  const match = /"[^"/]*\/user:([^"]+)" - (Publish|Subscription) Violation - Subject "([^"]+)"/.exec(line);
  if (!match) return undefined;
  return { user: match[1], kind: match[2] === "Publish" ? "publish" : "subscribe", subject: match[3] };
}
