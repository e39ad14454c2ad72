// An R3 stream on three real nats-servers loses its leader to SIGKILL while a publisher waits
// for every ack and the service reads through its durable consumer: nothing acknowledged may be
// lost, the consumer carries on, and once the killed node is back all three copies agree.
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { AckedPublisher } from "./support/ackedPublisher";
import { clusterStack, CONSUMER, createDeclaredStreams, ORDER_SERVICE, storedIds, STREAM, STREAM_SUBJECT, streamLeader, untilReplicasAgree } from "./support/clusterStack";
import { DurableReader } from "./support/durableReader";
import { waitFor } from "../harness/natsServer";

/** Acknowledged messages wanted in each phase: before the kill, while a node is down, after its return. */
const PER_PHASE = 300;
/** Paced (about 80 a second) so it publishes through every phase; the limit only bounds the test. */
const PUBLISH_INTERVAL_MS = 10;
const PUBLISH_LIMIT = 4_000;

let cluster: RunningCluster;
beforeAll(async () => {
  cluster = await startCluster(clusterStack(), 3);
  await createDeclaredStreams(cluster);
});
afterAll(() => cluster?.stop());

test("SIGKILL of the stream leader: 0 acknowledged messages lost, the durable consumer goes on, the three replicas agree", async () => {
  const users = { servers: cluster.urlList, ...cluster.login(ORDER_SERVICE) };
  const reader = await DurableReader.start({ ...users, stream: STREAM, consumer: CONSUMER });
  const publisher = await AckedPublisher.start({ ...users, subject: STREAM_SUBJECT, limit: PUBLISH_LIMIT, intervalMs: PUBLISH_INTERVAL_MS });

  await publisher.untilAcked(PER_PHASE);
  const leader = await streamLeader(cluster);
  const killedAt = performance.now();
  await cluster.kill(leader);
  await publisher.untilAcked(publisher.acked.length + PER_PHASE);
  // The consumer keeps delivering while the node is still down.
  await waitFor(async () => reader.deliveredAfter(killedAt) >= PER_PHASE / 2, 45_000, () => `the durable consumer delivered ${reader.deliveredAfter(killedAt)} messages since the kill`);
  const deliveredWhileDown = reader.deliveredAfter(killedAt);
  const firstAckAfterKill = publisher.firstAckOfMessageSentAfter(killedAt)! - killedAt;

  await cluster.start(leader);
  const ackedAtRestart = publisher.acked.length;
  await publisher.untilAcked(ackedAtRestart + PER_PHASE);
  const report = await publisher.stop();
  expect(report.acked, "the publisher kept going after the node's return").toBeGreaterThanOrEqual(ackedAtRestart + PER_PHASE);

  const stored = await storedIds(cluster);
  const storedSet = new Set(stored);
  expect(publisher.acked.filter((id) => !storedSet.has(id)), "acknowledged but not in the stream").toEqual([]);
  expect(stored.length, "no message stored twice").toBe(storedSet.size);

  expect(await reader.until(publisher.acked, 30_000), "acknowledged but never delivered to the durable consumer").toEqual([]);
  await reader.stop();

  // Each node's own copy, from its monitoring endpoint; the restarted node catches up.
  const views = await untilReplicasAgree(cluster, { messages: stored.length, firstSeq: 1, lastSeq: stored.length });
  expect(views.map((v) => v.server)).toEqual(cluster.nodes.map((n) => n.serverName));

  console.log(
    `killed ${cluster.nodes[leader].serverName} (stream leader) after ${PER_PHASE} acks; first ack of a message sent after the kill ${Math.round(firstAckAfterKill)} ms after it; ` +
      `publisher: ${JSON.stringify(report)}; stored ${stored.length}; consumer: ${reader.received.size} distinct, ${deliveredWhileDown} delivered while the node was down, ${reader.redeliveries} redeliveries, longest delivery gap ${reader.longestGapMs()} ms, notices ${JSON.stringify(reader.notices)}; ` +
      `replicas: ${JSON.stringify(views)}`,
  );
}, 120_000);
