// ops/rollingRestart on three real nats-servers, each restart a lame duck stop and a start on the
// same files and data, while traffic runs: a publisher waiting for every ack on the R3 stream,
// core subscribers, a core publisher and a request/reply loop, every client connected with the
// full URL list. Nothing acknowledged may be lost, no core client may end up closed, and every
// failed request must fall in a reconnect of the requester or a responder.
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, test } from "vitest";
import { formatRollingRestart, rollingRestart } from "../../ops/rollingRestart";
import { restartableNodes, startCluster, type RunningCluster } from "../harness/natsCluster";
import { AckedPublisher } from "./support/ackedPublisher";
import { clusterStack, createDeclaredStreams, ORDER_SERVICE, storedIds, STREAM_SUBJECT, untilReplicasAgree } from "./support/clusterStack";
import { CoreTraffic } from "./support/coreTraffic";

const SUBSCRIBERS = 4;
/** A few thousand at most: the publisher paces itself to last through the whole restart. */
const PUBLISH_LIMIT = 5_000;
const PUBLISH_INTERVAL_MS = 20;

let cluster: RunningCluster;
beforeAll(async () => {
  cluster = await startCluster(clusterStack(), 3);
  await createDeclaredStreams(cluster);
});
afterAll(() => cluster?.stop());

test("rolling restart under traffic: 0 acknowledged messages lost, no core client closed, request failures only during reconnects", async () => {
  const core = await CoreTraffic.start(
    cluster.urlList,
    {
      subscriber: cluster.login("notification-service"),
      publisher: cluster.login("teacher-service"),
      responder: cluster.login("user-service"),
    },
    SUBSCRIBERS,
  );
  const publisher = await AckedPublisher.start({ servers: cluster.urlList, ...cluster.login(ORDER_SERVICE), subject: STREAM_SUBJECT, limit: PUBLISH_LIMIT, intervalMs: PUBLISH_INTERVAL_MS });
  await publisher.untilAcked(100);

  const started = performance.now();
  const restart = await rollingRestart(restartableNodes(cluster), { healthTimeoutMs: 60_000, restartTimeoutMs: 60_000, log: (line) => console.log(`  ${line}`) });
  const finished = performance.now();
  const ackedAtEnd = publisher.acked.length;
  // Traffic after the restart shows every client still works where it landed.
  await publisher.untilAcked(ackedAtEnd + 100);
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const figures = core.report(finished);
  const closed = core.closedEarly();
  await core.stop();
  const published = await publisher.stop();

  expect(restart.nodes.map((n) => n.name)).toEqual(cluster.nodes.map((n) => n.serverName));
  expect(publisher.acked.length, "the publisher was still acknowledged when the restart ended").toBeLessThan(PUBLISH_LIMIT);

  const stored = new Set(await storedIds(cluster));
  expect(publisher.acked.filter((id) => !stored.has(id)), "acknowledged but not in the stream").toEqual([]);
  const views = await untilReplicasAgree(cluster, { messages: stored.size, firstSeq: 1, lastSeq: stored.size });

  expect(closed, "core connections that gave up").toEqual([]);
  for (const s of figures.subscribers) expect(s.receivedSince, `${s.name} receives after the restart`).toBeGreaterThan(0);
  expect(figures.requests.unexplained, "failed requests outside any reconnect of the requester or a responder").toEqual([]);
  expect(figures.requests.answered).toBeGreaterThan(0);

  console.log(
    `rolling restart of 3 nodes under traffic:\n${formatRollingRestart(restart)}\n` +
      `JetStream publisher: ${JSON.stringify(published)}, longest stall during the restart ${Math.round(publisher.longestStallMs(started))} ms; stored ${stored.size}; replicas ${JSON.stringify(views)}\n` +
      `core: ${figures.published} published; subscribers ${JSON.stringify(figures.subscribers)}\n` +
      `requests: ${JSON.stringify(figures.requests)}\nreconnects per client: ${JSON.stringify(figures.reconnects)}`,
  );
}, 180_000);
