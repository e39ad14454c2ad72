// The generated alerts on real programs: Debian's prometheus evaluating the generated rules
// against the real Surveyor of a real 3-node cluster. Quiet while everything is well; then each
// cause in turn, and the alert naming the stack's own node, stream or consumer fires within a
// bound, and clears within a bound once the cause goes. The times from cause to firing and from
// fix to clearing are printed (docs/monitoring.md quotes them). `for` is 0s here so the figures
// are the pipeline's own delay: scrape, survey, evaluation. Refused logins go through the exporter
// of the servers' auth-error events (tools/auth-events) instead of Surveyor.
import { jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { MonitoringInput } from "../../config/monitoring";
import { sleep, waitFor } from "../harness/natsServer";
import { alertIn, startMonitoredStack, untilAlert, type MonitoredStack } from "./support/monitoredStack";
import { prometheusVersion } from "./support/prometheusTools";
import { refusedLogins } from "./support/authEvents";
import { AUDIT_MAX_BYTES, AUDIT_SERVICE, AUDIT_STREAM, connectAs, monitoredStack, OPERATOR } from "./support/stack";

const NODES = 3;
/**
 * Scrapes every 5 s with the shortest timeout allowed (5 s: a survey waits up to 3 s for a node
 * that is down; with 1 s every scrape then failed and NatsSurveyorDown fired), rules every 1 s,
 * thresholds low enough to cross in a moment.
 */
const MONITORING: MonitoringInput = {
  prometheus: { scrapeInterval: "5s", scrapeTimeout: "5s", evaluationInterval: "1s" },
  alerts: {
    nodeNotSurveyed: { for: "0s" },
    surveyorDown: { for: "0s" },
    storage: { share: 0.5, for: "0s" },
    consumerPending: { pending: 100, for: "0s" },
    routeDown: { for: "0s" },
    // A short window, so that clearing (the refusals leaving it) is measured in seconds.
    authErrors: { increase: 5, window: "20s", for: "0s" },
  },
};
/** Logins refused in the refused-logins case: past authErrors.increase. */
const REFUSED = 8;
/** How long an alert may take to fire or clear before the test fails. */
const BOUND_MS = 30_000;

let stack: MonitoredStack;
const timings: string[] = [];

beforeAll(async () => {
  console.log(prometheusVersion());
  stack = await startMonitoredStack(monitoredStack(), NODES, MONITORING);
  // Two evaluations after the first scrapes: what is firing now is what fires on a healthy stack.
  await waitFor(async () => (await stack.prometheus.query("up")).length > 0, 30_000, () => `Prometheus never scraped Surveyor:\n${stack.prometheus.log()}`);
  await sleep(3_000);
}, 180_000);

afterAll(async () => {
  if (timings.length) console.log(`alert timings (for: 0s):\n${timings.join("\n")}`);
  await stack?.stop();
});

const firing = async () => (await stack.prometheus.alerts()).filter((a) => a.state === "firing").map((a) => `${a.labels.alertname} ${JSON.stringify(a.labels)}`);

test("a healthy stack fires no alert", async () => {
  expect(await firing()).toEqual([]);
});

test("a killed node fires NatsNodeNotSurveyed naming it (and NatsRouteDown on the others); both clear once it is back", async () => {
  const node = stack.cluster.nodes[2];
  const started = performance.now();
  await stack.cluster.kill(2);
  const fired = await untilAlert(stack.prometheus, "NatsNodeNotSurveyed", { server_name: node.serverName }, "firing", started, BOUND_MS);
  const alerts = await stack.prometheus.alerts();
  const alert = alertIn(alerts, "NatsNodeNotSurveyed", { server_name: node.serverName })!;
  expect(alert.annotations.description).toContain(`${node.serverName} is missing`);
  expect(alert.labels.stack).toBe(stack.config.docker.namePrefix);
  const routes = await untilAlert(stack.prometheus, "NatsRouteDown", { server_name: stack.cluster.nodes[0].serverName }, "firing", started, BOUND_MS);
  expect(alertIn(await stack.prometheus.alerts(), "NatsSurveyorDown", {})).toBeUndefined();

  const back = performance.now();
  await stack.cluster.start(2);
  const cleared = await untilAlert(stack.prometheus, "NatsNodeNotSurveyed", { server_name: node.serverName }, "cleared", back, BOUND_MS);
  const routesCleared = await untilAlert(stack.prometheus, "NatsRouteDown", {}, "cleared", back, BOUND_MS);
  // Surveyor's scrapes while a node was down: a survey then waits for the missing node.
  const window = `${Math.ceil((performance.now() - started) / 1000) + 2}s`;
  const failedScrapes = await stack.prometheus.query(`count_over_time(up{job="nats-surveyor"}[${window}]) - sum_over_time(up{job="nats-surveyor"}[${window}])`);
  const surveyorDown = await stack.prometheus.query(`max_over_time(ALERTS{alertname="NatsSurveyorDown", alertstate="firing"}[${window}])`);
  console.log(`while ${node.serverName} was down: ${failedScrapes[0]?.value[1]} failed scrapes of Surveyor; NatsSurveyorDown fired: ${surveyorDown.length > 0}`);
  expect(surveyorDown).toEqual([]);
  timings.push(`node ${node.serverName} killed: NatsNodeNotSurveyed firing after ${fired} ms, NatsRouteDown after ${routes} ms; restarted: cleared after ${cleared} ms and ${routesCleared} ms`);
}, 120_000);

test(`filling ${AUDIT_STREAM} past half its maxBytes fires NatsStreamStorageHigh naming it; a purge clears it`, async () => {
  const publisher = await connectAs(stack.config, stack.cluster.urlList, stack.cluster.passwords, AUDIT_SERVICE);
  const operator = await connectAs(stack.config, stack.cluster.urlList, stack.cluster.passwords, OPERATOR);
  try {
    const js = jetstream(publisher);
    const payload = new Uint8Array(16 * 1024);
    // 40 x 16 KiB: 640 KiB of a 1 MiB stream, past the 0.5 share.
    const started = performance.now();
    for (let i = 0; i < (0.625 * AUDIT_MAX_BYTES) / payload.length; i++) await js.publish("audit.fill", payload);
    const fired = await untilAlert(stack.prometheus, "NatsStreamStorageHigh", { stream: AUDIT_STREAM }, "firing", started, BOUND_MS);
    const alert = alertIn(await stack.prometheus.alerts(), "NatsStreamStorageHigh", { stream: AUDIT_STREAM })!;
    expect(alert.annotations.description).toContain(`Stream ${AUDIT_STREAM} (account APP)`);

    const purged = performance.now();
    // checkAPI off: the operator may purge AUDIT and read its info, nothing else ($JS.API.INFO included).
    await (await jetstreamManager(operator, { checkAPI: false })).streams.purge(AUDIT_STREAM);
    const cleared = await untilAlert(stack.prometheus, "NatsStreamStorageHigh", { stream: AUDIT_STREAM }, "cleared", purged, BOUND_MS);
    timings.push(`${AUDIT_STREAM} filled to 62.5 % of maxBytes: NatsStreamStorageHigh firing ${fired} ms after the first publish; purged: cleared after ${cleared} ms`);
  } finally {
    await publisher.close();
    await operator.close();
  }
}, 120_000);

/** notification-service reading EVENTS through its durable consumer, acking each message. */
async function startReader(): Promise<{ nc: NatsConnection; messages: ConsumerMessages }> {
  const nc = await connectAs(stack.config, stack.cluster.urlList, stack.cluster.passwords, "notification-service");
  const consumer = await jetstream(nc).consumers.get("EVENTS", "notification-service");
  const messages = await consumer.consume({ max_messages: 100, expires: 5_000 });
  void (async () => {
    for await (const m of messages) m.ack();
  })();
  return { nc, messages };
}

test("under load, stopping notification-service's reader fires NatsConsumerPending naming it; reading again clears it", async () => {
  const publisher = await connectAs(stack.config, stack.cluster.urlList, stack.cluster.passwords, "teacher-service");
  let reader = await startReader();
  let publishing = true;
  // About 200 messages a second into EVENTS for the whole test.
  const load = (async () => {
    while (publishing) {
      for (let i = 0; i < 20; i++) publisher.publish("events.teacher", "lesson");
      await sleep(100);
    }
  })();
  try {
    await sleep(6_000);
    expect(alertIn(await stack.prometheus.alerts(), "NatsConsumerPending", { consumer_name: "notification-service" }, "pending")).toBeUndefined();
    expect(alertIn(await stack.prometheus.alerts(), "NatsConsumerPending", { consumer_name: "notification-service" })).toBeUndefined();

    const stopped = performance.now();
    reader.messages.stop();
    await reader.nc.close();
    const fired = await untilAlert(stack.prometheus, "NatsConsumerPending", { stream: "EVENTS", consumer_name: "notification-service" }, "firing", stopped, BOUND_MS);
    const alert = alertIn(await stack.prometheus.alerts(), "NatsConsumerPending", { consumer_name: "notification-service" })!;
    expect(alert.annotations.description).toContain("read by notification-service");

    const resumed = performance.now();
    reader = await startReader();
    const cleared = await untilAlert(stack.prometheus, "NatsConsumerPending", { consumer_name: "notification-service" }, "cleared", resumed, BOUND_MS);
    timings.push(`notification-service's reader stopped under ~200 msg/s: NatsConsumerPending (over 100) firing after ${fired} ms; reading again: cleared after ${cleared} ms`);
  } finally {
    publishing = false;
    await load;
    reader.messages.stop();
    await reader.nc.close();
    await publisher.close();
  }
}, 120_000);

test(`${REFUSED} logins refused by one node fire NatsAuthErrorsRising naming that node and the service; it clears once they leave the window`, async () => {
  const node = stack.cluster.nodes[1];
  expect(alertIn(await stack.prometheus.alerts(), "NatsAuthErrorsRising", {}, "pending")).toBeUndefined();
  // The exporter is one connection to one of the nodes: the event of another node reaches it over the routes.
  await waitFor(async () => (await stack.prometheus.query('nats_infra_auth_events_connected{job="nats-auth-events"} == 1')).length === 1, 30_000, () => `the exporter is not scraped as connected:\n${stack.authEvents.log()}`);
  const started = performance.now();
  await refusedLogins([node.url], "user-service", REFUSED);
  const refused = performance.now();
  const fired = await untilAlert(stack.prometheus, "NatsAuthErrorsRising", { server_name: node.serverName, user: "user-service" }, "firing", started, BOUND_MS);
  const alert = alertIn(await stack.prometheus.alerts(), "NatsAuthErrorsRising", { server_name: node.serverName })!;
  expect(alert.annotations.description).toContain(`NATS node ${node.serverName} of stack ${stack.config.docker.namePrefix} refused at least 5 logins within 20s for its user user-service:`);
  expect(alert.labels.stack).toBe(stack.config.docker.namePrefix);
  // Only that node's refusals: no other node's rule fires.
  expect((await stack.prometheus.alerts()).filter((a) => a.labels.alertname === "NatsAuthErrorsRising" && a.labels.server_name !== node.serverName)).toEqual([]);
  const cleared = await untilAlert(stack.prometheus, "NatsAuthErrorsRising", {}, "cleared", refused, 20_000 + BOUND_MS);
  timings.push(`${REFUSED} logins refused by ${node.serverName} (threshold 5 in 20s): NatsAuthErrorsRising firing ${fired} ms after the first; cleared ${cleared} ms after the last`);
}, 120_000);
