// Every panel query of every generated dashboard, run against a real Prometheus scraping the real
// Surveyor of a real 3-node cluster: with its template variable filled (all nodes, and each node
// alone) and Grafana's $__rate_interval given, each returns series, and only series of this
// stack's own nodes, accounts, streams and consumers. Grafana itself cannot run here; the
// queries are what it would send.
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateDashboards, SERVER_VARIABLE } from "../../render/monitoring/dashboards";
import { exactAlternatives } from "../../render/monitoring/promql";
import { stackFacts } from "../../render/monitoring/stackFacts";
import { waitFor } from "../harness/natsServer";
import { prometheusVersion } from "./support/prometheusTools";
import { startMonitoredStack, type MonitoredStack } from "./support/monitoredStack";
import { AUDIT_SERVICE, AUDIT_STREAM, connectAs, monitoredStack } from "./support/stack";

const NODES = 3;
/** What Grafana would put for $__rate_interval at a 5 s scrape interval: several samples. */
const RATE_INTERVAL = "20s";
let stack: MonitoredStack;
const clients: NatsConnection[] = [];

beforeAll(async () => {
  console.log(prometheusVersion());
  stack = await startMonitoredStack(monitoredStack(), NODES, { prometheus: { scrapeInterval: "5s", scrapeTimeout: "5s", evaluationInterval: "5s" } });
  // Services stay connected, as a deployment's do (Surveyor reports an account's connection and
  // subscription counts only while it has clients); messages in both streams; then enough scrapes for rates.
  for (const [service, subject] of [["teacher-service", "events.teacher"], [AUDIT_SERVICE, "audit.login"]]) {
    const nc = await connectAs(stack.config, stack.cluster.urlList, stack.cluster.passwords, service);
    clients.push(nc);
    nc.subscribe(`${subject}.replies`);
    for (let i = 0; i < 20; i++) nc.publish(subject, `message ${i}`);
    await nc.flush();
  }
  await waitFor(async () => (await stack.prometheus.query(`count_over_time(nats_stream_total_messages{stream="${AUDIT_STREAM}"}[${RATE_INTERVAL}]) >= 3`)).length > 0, 30_000, () => `no AUDIT samples in Prometheus; Surveyor log:\n${stack.surveyor.log().slice(-2000)}`);
}, 180_000);

afterAll(async () => {
  for (const nc of clients) await nc.close();
  await stack?.stop();
});

/** Every target expression of a dashboard, rows' panels included. */
function panelQueries(json: unknown): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const visit = (panels: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ panel: panel.title ?? "", expr: target.expr });
      visit(panel.panels as never);
    }
  };
  visit((json as { panels: never }).panels);
  return out;
}

test("the dashboards are an overview, JetStream and (3 nodes) a cluster view; AUDIT has its row and its consumer's panels", () => {
  const dashboards = generateDashboards(stack.config);
  expect(dashboards.map((d) => d.file)).toEqual(["nats-overview.json", "nats-jetstream.json", "nats-cluster.json"]);
  const titles = panelQueries(dashboards[1].json).map((q) => q.panel);
  expect(titles).toContain("AUDIT: bytes");
  expect(titles).toContain("AUDIT / auditor: backlog");
  expect(titles).toContain("EVENTS / notification-service: backlog");
});

test("every panel query returns series of this stack, with the node variable at All and at each node", async () => {
  const facts = stackFacts(stack.config);
  const fillings = [exactAlternatives(facts.servers), ...facts.servers];
  const own: Record<string, string[]> = {
    server_name: facts.servers,
    account: facts.accounts,
    stream: facts.streams.map((s) => s.stream),
    consumer_name: facts.streams.flatMap((s) => s.consumers.map((c) => c.consumer)),
  };
  let ran = 0;
  const empty: string[] = [];
  for (const dashboard of generateDashboards(stack.config)) {
    for (const { panel, expr } of panelQueries(dashboard.json)) {
      for (const server of expr.includes(`$${SERVER_VARIABLE}`) ? fillings : [undefined]) {
        const filled = expr.replaceAll(`$${SERVER_VARIABLE}`, server ?? "").replaceAll("$__rate_interval", RATE_INTERVAL);
        const result = await stack.prometheus.query(filled);
        ran += 1;
        if (result.length === 0) empty.push(`${dashboard.file} / ${panel}: ${filled}`);
        for (const series of result) {
          for (const [label, values] of Object.entries(own)) if (series.metric[label] !== undefined) expect(values, `${panel}: ${filled}`).toContain(series.metric[label]);
        }
        if (server && server !== fillings[0]) expect(result.every((s) => s.metric.server_name === undefined || s.metric.server_name === server)).toBe(true);
      }
    }
  }
  expect(empty, `queries without series:\n${empty.join("\n")}`).toEqual([]);
  console.log(`${ran} panel queries (variables filled) returned series`);
  expect(ran).toBeGreaterThan(40);
}, 60_000);
