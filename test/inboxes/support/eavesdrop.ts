// One eavesdropping run: fresh secrets go into the KV bucket and the object store, the
// eavesdropper starts listening, the victims make requests, get KV values (by STREAM.MSG.GET, by
// DIRECT.GET and through an ordered consumer) and read objects, and then the run reports which
// of the secrets the eavesdropper heard and which the victims got. Secrets are random tokens, so
// finding one anywhere in the eavesdropper's output is a leak whatever its format.
//
// Listening is proven, not assumed (support/listening.ts): before the victims start and after
// they finish, canaries from every node must have reached every subscription the server holds.
import { randomBytes } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { Objm } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import type { StackConfig } from "../../../config/schema";
import { waitFor } from "../../harness/natsServer";
import { inboxPrefixOf } from "../../harness/login";
import { BUCKET, EAVESDROPPERS, ECHO, RESPONDER, STORE, VICTIMS, WRITER, type EavesdropperName, type InboxesMode, type Victim } from "./eavesdropStack";
import { startEavesdropper, type ClientName, type Eavesdropper } from "./eavesdroppers";
import { CANARY, heldByServer, untilHeard, untilSettled } from "./listening";

/** A running stack: one server, or the nodes of a cluster. */
export interface Deployment {
  mode: InboxesMode;
  config: StackConfig;
  passwords: Record<string, string>;
  /** Client URLs, one per node. */
  urls: string[];
  monitorUrls: string[];
}

/** Which node each party connects to (indexes into Deployment.urls). */
export interface Placement {
  responder: number;
  writer: number;
  victims: Record<Victim, number>;
  eavesdropper: number;
}

/**
 * What the victims get back, by the way it reaches them: replies to core requests; KV values by
 * STREAM.MSG.GET and DIRECT.GET (replies of the JetStream API); KV history and object contents
 * through an ordered consumer (JetStream deliveries to an inbox, under the stream's subjects).
 */
export const SECRET_KINDS = ["reply", "kv get", "kv history", "object"] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface EavesdropReport {
  eavesdropper: EavesdropperName;
  client: ClientName;
  mode: InboxesMode;
  eavesdropperNode: number;
  /** The eavesdropper's subscriptions the server holds, from /connz of every node. */
  heldByServer: string[];
  /** The subscriptions the client reported refused by the server. */
  refusedToClient: string[];
  /** Client processes still running at the end (natscli ends at its permission violation). */
  stillRunning: number;
  /** Messages heard, by the first token of their subject. */
  heard: Record<string, number>;
  /** The victims' requests it heard (on `svc.echo.*`; with `>` and `svc.>` it may hear them). */
  requestsHeard: number;
  /** Per kind: secrets the eavesdropper heard, of all the victims got. */
  secretsHeard: Record<SecretKind, { heard: number; of: number }>;
  /** Per kind: the subjects (last token as `*`) of the messages that carried a secret to it. */
  leakedOn: Partial<Record<SecretKind, string[]>>;
  /** Secrets the victims were meant to get but did not (must be none). */
  victimsMissed: string[];
}

export const REQUESTS_PER_VICTIM = 20;
const KEYS = 3;
/** Revisions of the one key the victims read as history. */
const HISTORY = 2;
/** Over 128 KiB, the object store's chunk size: the large object arrives in three chunks. */
const LARGE_OBJECT_BYTES = 300_000;
/** Where the victims check that the responder's interest has reached their node. */
const PING = "svc.ping";
const API_TIMEOUT_MS = 10_000;

const token = (kind: string) => `${kind}-${randomBytes(8).toString("hex")}`;

export async function eavesdrop(deployment: Deployment, who: EavesdropperName, client: ClientName, placement: Placement): Promise<EavesdropReport> {
  const { config, passwords } = deployment;
  const connectAs = (user: string, node: number, name = user) =>
    connect({ servers: deployment.urls[node], user, pass: passwords[user], inboxPrefix: inboxPrefixOf(config, user), name, reconnect: false, timeout: API_TIMEOUT_MS });
  const open: NatsConnection[] = [];
  const opened = async (nc: Promise<NatsConnection>) => (open.push(await nc), open[open.length - 1]);
  let eavesdropper: Eavesdropper | undefined;
  try {
    // Written before anyone listens: the writes themselves are no replies, and `>` may hear them.
    const stored = await storeSecrets(await opened(connectAs(WRITER, placement.writer)));
    const replies = await respond(await opened(connectAs(RESPONDER, placement.responder)));
    const victimConnections = await Promise.all(VICTIMS.map((victim) => opened(connectAs(victim, placement.victims[victim]))));
    // On a cluster the responder's interest reaches the victims' nodes over the routes a moment later.
    await Promise.all(victimConnections.map((nc, i) => untilAnswered(nc, VICTIMS[i])));

    const url = deployment.urls[placement.eavesdropper];
    const listens = [...EAVESDROPPERS[who].listens];
    eavesdropper = await startEavesdropper(client, { url, user: who, password: passwords[who], inboxPrefix: inboxPrefixOf(config, who) }, listens);
    const canaries = await Promise.all(deployment.urls.map((_, node) => opened(connectAs(who, node, CANARY))));
    const held = await untilSettled(deployment, who, eavesdropper, listens);
    await untilHeard(canaries, eavesdropper, held, "start");

    const victims = await Promise.all(VICTIMS.map((victim, i) => victimWork(victimConnections[i], victim, stored)));

    await untilHeard(canaries, eavesdropper, held, "end");

    const expected: Record<SecretKind, string[]> = {
      reply: VICTIMS.flatMap((v) => replies.get(v) ?? []),
      "kv get": stored.kv.map((k) => k.value),
      "kv history": stored.history.values,
      object: stored.objects.map((o) => o.token),
    };
    // Each victim its own replies, every KV value and every object, whole.
    const victimsMissed = VICTIMS.flatMap((victim, i) => {
      const got = new Set(victims[i]);
      const wanted = [...(replies.get(victim) ?? []), ...expected["kv get"], ...expected["kv history"], ...stored.objects.map((o) => o.content)];
      return wanted.filter((s) => !got.has(s)).map((s) => `${victim}: ${s.slice(0, 40)}`);
    });
    const text = eavesdropper.text();
    const messages = eavesdropper.messages();
    return {
      eavesdropper: who,
      client,
      mode: deployment.mode,
      eavesdropperNode: placement.eavesdropper,
      heldByServer: await heldByServer(deployment, who, listens),
      refusedToClient: eavesdropper.refused(),
      stillRunning: eavesdropper.running(),
      heard: bySubjectKind(messages.map((m) => m.subject)),
      requestsHeard: messages.filter((m) => m.subject.startsWith(`${ECHO}.`)).length,
      secretsHeard: Object.fromEntries(SECRET_KINDS.map((kind) => [kind, { heard: expected[kind].filter((s) => text.includes(s)).length, of: expected[kind].length }])) as EavesdropReport["secretsHeard"],
      leakedOn: Object.fromEntries(
        SECRET_KINDS.map((kind) => [kind, [...new Set(messages.filter((m) => expected[kind].some((s) => m.data.includes(s))).map((m) => subjectPattern(m.subject)))]]).filter(([, on]) => on.length),
      ),
      victimsMissed,
    };
  } finally {
    await eavesdropper?.stop();
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  }
}

interface Stored {
  kv: { key: string; value: string }[];
  /** One key with HISTORY revisions, read only as history. */
  history: { key: string; values: string[] };
  /** `token` is what to look for; `content` is the whole object (the large one repeats its token). */
  objects: { name: string; token: string; content: string }[];
}

async function storeSecrets(writer: NatsConnection): Promise<Stored> {
  const run = randomBytes(4).toString("hex");
  const js = jetstream(writer, { timeout: API_TIMEOUT_MS });
  const kv = await new Kvm(js).open(BUCKET);
  const stored: Stored = { kv: [], history: { key: `${run}-history`, values: [] }, objects: [] };
  for (let i = 0; i < KEYS; i++) {
    const entry = { key: `${run}-get${i}`, value: token("kv") };
    await kv.put(entry.key, entry.value);
    stored.kv.push(entry);
  }
  for (let i = 0; i < HISTORY; i++) {
    const value = token("kvhistory");
    await kv.put(stored.history.key, value);
    stored.history.values.push(value);
  }
  const store = await new Objm(js).open(STORE);
  const small = token("obj");
  const large = token("objbig");
  for (const [name, tok, content] of [
    [`${run}-small`, small, small],
    [`${run}-large`, large, `${large} `.repeat(Math.ceil(LARGE_OBJECT_BYTES / (large.length + 1)))],
  ]) {
    await store.putBlob({ name }, new TextEncoder().encode(content));
    stored.objects.push({ name, token: tok, content });
  }
  return stored;
}

/** The responder answers every `svc.echo.<victim>` with a fresh token, recorded per victim. */
async function respond(nc: NatsConnection): Promise<Map<string, string[]>> {
  const sent = new Map<string, string[]>();
  nc.subscribe(`${ECHO}.*`, {
    callback: (error, msg) => {
      if (error) return;
      const victim = msg.subject.split(".").pop()!;
      const reply = token(`reply-${victim}`);
      sent.set(victim, [...(sent.get(victim) ?? []), reply]);
      msg.respond(reply);
    },
  });
  // Subscribed after the echo, so a node that has this interest has the echo's too.
  nc.subscribe(`${PING}.*`, { callback: (error, msg) => void (error || msg.respond("pong")) });
  await nc.flush();
  return sent;
}

/** Until the responder answers the victim (an unrecorded ping, before anyone listens). */
async function untilAnswered(nc: NatsConnection, victim: Victim): Promise<void> {
  await waitFor(async () => (await nc.request(`${PING}.${victim}`, "", { timeout: 1_000 })).string() === "pong", 15_000, () => `the responder never answered ${victim}`);
}

/** Everything a victim gets back: replies, KV values three ways, object contents. */
async function victimWork(nc: NatsConnection, victim: Victim, stored: Stored): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < REQUESTS_PER_VICTIM; i++) got.push((await nc.request(`${ECHO}.${victim}`, `ask-${i}`, { timeout: API_TIMEOUT_MS })).string());
  const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
  // open() assumes no direct gets (STREAM.MSG.GET); create() of an existing bucket reads its
  // stream, which allows them (DIRECT.GET).
  const byMsgGet = await new Kvm(js).open(BUCKET);
  const byDirectGet = await new Kvm(js).create(BUCKET);
  for (const { key } of stored.kv) {
    got.push((await byMsgGet.get(key))?.string() ?? "");
    got.push((await byDirectGet.get(key))?.string() ?? "");
  }
  // History is delivered by an ordered consumer to an inbox under the client's prefix.
  for await (const entry of await byMsgGet.history({ key: stored.history.key })) got.push(entry.string());
  const store = await new Objm(js).open(STORE);
  for (const { name } of stored.objects) got.push(new TextDecoder().decode((await store.getBlob(name)) ?? new Uint8Array()));
  return got;
}

/** `$O.vault.C.<nuid>` as `$O.vault.C.*`; an inbox subject as its prefix and `>`. */
function subjectPattern(subject: string): string {
  const tokens = subject.split(".");
  return tokens[0].startsWith("_INBOX") ? `${tokens[0]}.>` : [...tokens.slice(0, -1), "*"].join(".");
}

/** Counts by a subject's first token: `_INBOX`, a private `_INBOX_<name>`, `svc`, `$JS`, `canary`... */
function bySubjectKind(subjects: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const subject of subjects) {
    const kind = `${subject.split(".")[0]}.*`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** One line per run for the log: what the eavesdropper saw. */
export function describeReport(report: EavesdropReport): string {
  const secrets = Object.entries(report.secretsHeard)
    .map(([kind, { heard, of }]) => `${kind} ${heard}/${of}`)
    .join(", ");
  return (
    `inboxes ${report.mode}, ${report.eavesdropper} on ${report.client}, node ${report.eavesdropperNode}: secrets heard ${secrets}; ` +
    `server holds ${JSON.stringify(report.heldByServer)}, refused to the client ${JSON.stringify(report.refusedToClient)}, ${report.stillRunning} process(es) still listening; ` +
    `heard ${JSON.stringify(report.heard)}; secrets came on ${JSON.stringify(report.leakedOn)}`
  );
}
