// A service's JetStream access written as intent ("publish to EVENTS", "consume EVENTS through
// the durable notification-service", "read EVENTS"), compiled into the exact subjects the current
// clients use for it (@nats-io/jetstream 3.4 and nats-py 2.16, read in their sources and checked
// on nats-server 2.14.10 by test/render/jetstreamIntent.server.test.ts) and nothing more.
//
// Every JetStream API call and every acknowledgement with a reply is a request: its answer comes
// back on the caller's `_INBOX.<id>.<n>`, which `requests: true` already grants (validate.ts
// refuses intent on a service without it). The subjects here are only the ones each intent adds.
import type { ServiceConfig, StackConfig, StreamConfig } from "./schema";

export type JetStreamIntent = NonNullable<ServiceConfig["jetstream"]>;
export type ConsumerIntent = JetStreamIntent["consume"][number];

/** What an intent adds to a service's publish and subscribe allows. */
export interface JetStreamGrant {
  publish: string[];
  subscribe: string[];
}

const API = "$JS.API";

/** The stream `name` the config declares in `account` (stream names are unique per account). */
export function declaredStream(config: StackConfig, account: string, name: string): StreamConfig | undefined {
  return config.streams.find((stream) => stream.account === account && stream.name === name);
}

/**
 * The subjects `service`'s intent needs, raw subjects not included. A reference the config does
 * not declare is left out rather than thrown on: validate.ts refuses such a config with the path,
 * and its checks run this on configs that are still partly invalid.
 */
export function jetstreamGrant(config: StackConfig, service: ServiceConfig): JetStreamGrant {
  const grant: JetStreamGrant = { publish: [], subscribe: [] };
  const intent = service.jetstream;
  if (!intent) return grant;
  const stream = (name: string) => declaredStream(config, service.account, name);
  for (const name of intent.publish) {
    const found = stream(name);
    if (found) grant.publish.push(...publishSubjects(found));
  }
  for (const wanted of intent.consume) {
    const found = stream(wanted.stream);
    const consumer = found?.consumers.find((c) => c.name === wanted.consumer);
    if (!found || !consumer) continue;
    const subjects = consumeSubjects(found, consumer);
    grant.publish.push(...subjects.publish);
    grant.subscribe.push(...subjects.subscribe);
  }
  for (const name of intent.read) {
    const found = stream(name);
    if (found) grant.publish.push(...readSubjects(found));
  }
  return { publish: unique(grant.publish), subscribe: unique(grant.subscribe) };
}

/**
 * Publishing with an ack is a plain request to a subject the stream captures; the stream's ack is
 * the reply. Neither client asks for STREAM.INFO first (nats.js JetStreamClientImpl._publish and
 * nats-py JetStreamContext.publish both only call request), so none is granted.
 */
function publishSubjects(stream: StreamConfig): string[] {
  return stream.subjects;
}

/**
 * Using a declared durable:
 *  - CONSUMER.INFO: both clients look the consumer up before use (nats.js consumers.get and
 *    getPushConsumer, nats-py pull_subscribe with a durable), and nats.js consume() asks again
 *    after missed heartbeats.
 *  - pull: CONSUMER.MSG.NEXT is the pull request; the messages, the idle heartbeats and the
 *    status messages all arrive on its reply inbox, so nothing else is needed for them.
 *  - push: the server delivers to deliverSubject, which the service subscribes to. nats-infra
 *    declares no flow control or heartbeats on consumers, so there are no $JS.FC replies.
 *  - $JS.ACK.<stream>.<consumer>.>: each delivered message's reply subject, where ack, nak,
 *    in-progress and term go (more than the one reply allow_responses would let through), left
 *    out for ackPolicy none, whose messages take no acknowledgement.
 * Creating, updating or deleting the consumer stays with the reconciler's user.
 */
function consumeSubjects(stream: StreamConfig, consumer: StreamConfig["consumers"][number]): JetStreamGrant {
  const s = stream.name;
  const c = consumer.name;
  const publish = [`${API}.CONSUMER.INFO.${s}.${c}`];
  const subscribe: string[] = [];
  if (consumer.type === "pull") publish.push(`${API}.CONSUMER.MSG.NEXT.${s}.${c}`);
  else if (consumer.deliverSubject) subscribe.push(consumer.deliverSubject);
  if (consumer.ackPolicy !== "none") publish.push(`$JS.ACK.${s}.${c}.>`);
  return { publish, subscribe };
}

/**
 * Reading without a consumer: the stream's state (nats.js js.streams.get, nats-py stream_info)
 * and one message by sequence or last by subject (nats.js getMessage, nats-py get_msg and
 * get_last_msg use STREAM.MSG.GET; nats-infra declares no allow_direct, so DIRECT.GET would not
 * answer). Ordered consumers are not offered: they create consumers of their own choosing, and
 * the right to create one can also update a declared durable of the same stream.
 */
function readSubjects(stream: StreamConfig): string[] {
  return [`${API}.STREAM.INFO.${stream.name}`, `${API}.STREAM.MSG.GET.${stream.name}`];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
