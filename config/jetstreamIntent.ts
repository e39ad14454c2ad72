// A service's JetStream access written as intent ("publish to EVENTS", "consume EVENTS through
// the durable notification-service", "read EVENTS"), compiled into the exact subjects the current
// clients use for it (@nats-io/jetstream 3.4, nats-py 2.16 and nats.go 1.53 as in natscli 0.5.0,
// read in their sources and checked on nats-server 2.14.10 by
// test/render/jetstreamIntent.server.test.ts, kvObjectIntent.server.test.ts and
// intentClients.server.test.ts) and nothing more.
//
// Every JetStream API call and every acknowledgement with a reply is a request: its answer comes
// back on the caller's `_INBOX.<id>.<n>`, which `requests: true` already grants (validate.ts
// refuses intent on a service without it). The subjects here are only the ones each intent adds.
import type { ServiceConfig, StackConfig, StreamConfig } from "./schema";
import { kvStreamName, kvSubjects as kvBucketSubjects, objectMetadataSubject, objectStoreSubjects as storeSubjects, objectStreamName, type KvDeclaration, type ObjectStoreDeclaration } from "./streams";

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

/** The KV bucket `bucket` the config declares in `account`. */
export function declaredBucket(config: StackConfig, account: string, bucket: string): KvDeclaration | undefined {
  return config.kv.find((kv) => kv.account === account && kv.bucket === bucket);
}

/** The object store `store` the config declares in `account`. */
export function declaredObjectStore(config: StackConfig, account: string, store: string): ObjectStoreDeclaration | undefined {
  return config.objectStores.find((os) => os.account === account && os.store === store);
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
  for (const { bucket, access } of intent.kv ?? []) {
    const found = declaredBucket(config, service.account, bucket);
    if (found) grant.publish.push(...kvSubjects(found, access));
  }
  for (const { store, access } of intent.objects ?? []) {
    const found = declaredObjectStore(config, service.account, store);
    if (found) grant.publish.push(...objectStoreSubjects(found, access));
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

/**
 * A KV bucket through @nats-io/kv 3.4 and nats-py 2.16 (stream KV_<b>, keys under $KV.<b>.>):
 *  - read: open (nats.js Kvm.open checks the API with $JS.API.INFO unless the client was made
 *    with checkAPI: false; nats-py key_value and nats.js Kvm.create ask STREAM.INFO, which is
 *    also status), get (STREAM.MSG.GET after nats.js open, which assumes no direct gets;
 *    DIRECT.GET.KV_<b>.$KV.<b>.<key> from nats-py and after Kvm.create, since the bucket's
 *    stream allows direct gets; DIRECT.GET.KV_<b> for a revision), and watch, keys and history
 *    (orderedReadSubjects).
 *  - write: read, and publishing to $KV.<b>.<key>: put, create and update (a publish with an
 *    expected-sequence header), delete (a DEL marker) and purge of a key (a PURGE marker with a
 *    rollup header). Never STREAM.PURGE or STREAM.DELETE: purgeDeletes, purgeBucket and destroy
 *    stay with the reconciler's user.
 */
function kvSubjects(bucket: KvDeclaration, access: StoreAccess): string[] {
  const name = kvStreamName(bucket.bucket);
  const subjects = kvBucketSubjects(bucket.bucket);
  const read = [
    `${API}.INFO`,
    `${API}.STREAM.INFO.${name}`,
    `${API}.STREAM.MSG.GET.${name}`,
    `${API}.DIRECT.GET.${name}`,
    ...subjects.map((keys) => `${API}.DIRECT.GET.${name}.${keys}`),
    ...orderedReadSubjects(name, subjects),
  ];
  return access === "write" ? [...read, ...subjects] : read;
}

/**
 * An object store through @nats-io/obj 3.4 and nats.go 1.53 (stream OBJ_<s>, chunks under
 * $O.<s>.C.>, metadata under $O.<s>.M.>):
 *  - read: open ($JS.API.INFO as for KV, then STREAM.INFO, also status), info (the object's last
 *    metadata: STREAM.MSG.GET from nats.js and nats-py; nats.go uses a direct get,
 *    DIRECT.GET.OBJ_<s>.$O.<s>.M.<name>, since the store's stream allows them, and asks
 *    DIRECT.GET.OBJ_<s>.$O.<s>.M.> before list and watch; no other direct get is granted), get
 *    (an ordered consumer on the object's chunks), list and watch (an ordered consumer on the
 *    metadata).
 *  - write: read, publishing chunks and metadata (put, delete's tombstone), and STREAM.PURGE of
 *    the store's stream: delete, and a put that replaces an object, remove the old chunks with a
 *    purge filtered to them. The server cannot tell a filtered purge from a whole one by its
 *    subject, so a writer could also empty the whole store (as deleting every object would).
 *    Never STREAM.DELETE: destroy stays with the reconciler's user.
 */
function objectStoreSubjects(store: ObjectStoreDeclaration, access: StoreAccess): string[] {
  const name = objectStreamName(store.store);
  const subjects = storeSubjects(store.store);
  const read = [
    `${API}.INFO`,
    `${API}.STREAM.INFO.${name}`,
    `${API}.STREAM.MSG.GET.${name}`,
    `${API}.DIRECT.GET.${name}.${objectMetadataSubject(store.store)}`,
    ...orderedReadSubjects(name, subjects),
  ];
  return access === "write" ? [...read, ...subjects, `${API}.STREAM.PURGE.${name}`] : read;
}

/**
 * Watching, listing and reading many messages of a bucket or store: nats.js and nats.go create an
 * ordered push consumer (nats.js: oc_<nuid>_<n>, nats.go: a hash of a nuid) with
 * CONSUMER.CREATE.<stream>.<name>.<filter>, delivered to an _INBOX subject with flow control,
 * whose requests they answer on $JS.FC.<stream>.>; keys() also asks CONSUMER.INFO. A consumer
 * name cannot be matched by prefix, so the create is granted for any name whose filter lies in
 * the stream's subjects: such a service could also create or update other consumers of that
 * stream (not of any other), and read nothing it cannot read anyway. nats.go deletes the
 * consumer when it is done (Unsubscribe waits for that answer, 5 s when it never comes), so
 * CONSUMER.DELETE of the stream is granted too: it can only name consumers (CONSUMER.LIST and
 * NAMES are not granted), and a reader could already break another's watch by replacing it.
 * A watch of several keys at once (filter_subjects, nats.js) and nats-py's watch use
 * CONSUMER.CREATE.<stream> without a name, which is not granted.
 */
function orderedReadSubjects(stream: string, subjects: string[]): string[] {
  return [
    ...subjects.map((filter) => `${API}.CONSUMER.CREATE.${stream}.*.${filter}`),
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
}

type StoreAccess = NonNullable<JetStreamIntent["kv"]>[number]["access"];

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
