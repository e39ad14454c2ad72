// The generated alert rules, checked and unit-tested by the real promtool (Debian's prometheus
// package, the release the pinned image runs): `promtool check rules` on every generated rules
// file, and `promtool test rules` on tests generated beside them (test/monitoring/support/
// ruleTests.ts) where every rule fires once its input crosses the threshold for its `for`, with
// exactly its labels and texts, and stays quiet at the threshold.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { monitoringSchema, type MonitoringInput } from "../../config/monitoring";
import { ALERT_NAMES, generatedRules, renderAlertRules } from "../../render/monitoring/alerts";
import { DEV_STACK_FIXTURE, REPO_ROOT } from "../harness/tools";
import { prometheusTool, prometheusVersion } from "../monitoring/support/prometheusTools";
import { exporterSeries, promtoolTests } from "../monitoring/support/ruleTests";

const dev = readStackFile(DEV_STACK_FIXTURE);
const accounts = readStackFile(path.join(REPO_ROOT, "test", "fixtures", "Pulumi.accounts.yaml"));
/** Three nodes, a stream with its own byte limit and a consumer with one reader: every kind of rule. */
const cluster = {
  ...dev,
  cluster: { nodes: 3 },
  streams: [...(dev.streams as object[]), { name: "AUDIT", subjects: ["audit.>"], maxBytes: "1GB", storage: "memory", consumers: [{ name: "auditor", maxAckPending: 50 }, { name: "unlimited", maxAckPending: -1 }] }],
};

const STACKS: { name: string; raw: Record<string, unknown>; monitoring: MonitoringInput }[] = [
  { name: "dev stack, default thresholds", raw: dev, monitoring: {} },
  { name: "three accounts (one without JetStream), default thresholds", raw: accounts, monitoring: {} },
  {
    name: "three-node cluster, every threshold set",
    raw: cluster,
    monitoring: {
      alerts: {
        nodeNotSurveyed: { for: "2m" },
        surveyorDown: { for: "30s" },
        storage: { share: 0.5, for: "1m" },
        consumerPending: { pending: 10, for: "3m" },
        consumerAckPending: { share: 0.5, for: "1m" },
        consumerStalled: { after: "15m", for: "1m" },
        slowConsumers: { increase: 3, window: "10m", for: "1m" },
        connections: { share: 0.5, for: "1m" },
        routeDown: { routesPerPeer: 4, for: "0s" },
        authErrors: { increase: 10, window: "10m", for: "2m" },
        authEventsExporterDown: { for: "3m" },
      },
    },
  },
];

let dir: string;
beforeAll(() => {
  console.log(`promtool: ${prometheusTool("promtool")}; ${prometheusVersion()}`);
  dir = mkdtempSync(path.join(tmpdir(), "nats-infra-promtool-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(...args: string[]) {
  const result = spawnSync(prometheusTool("promtool"), args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

describe.each(STACKS)("$name", ({ name, raw, monitoring: input }) => {
  const { config } = parseStackConfig(raw);
  const monitoring = monitoringSchema.parse(input);
  const slug = name.replace(/[^a-z0-9]+/gi, "-");

  test("promtool check rules accepts the generated rules file", () => {
    writeFileSync(path.join(dir, `${slug}.rules.yml`), renderAlertRules(config, monitoring));
    const result = promtool("check", "rules", `${slug}.rules.yml`);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.ok, result.output).toBe(true);
  });

  test("promtool test rules: every rule fires past its threshold after its `for`, and not at it", () => {
    writeFileSync(path.join(dir, `${slug}.rules.yml`), renderAlertRules(config, monitoring));
    const tests = promtoolTests(config, monitoring, `${slug}.rules.yml`);
    expect(tests.tests).toHaveLength(2 * generatedRules(config, monitoring).length);
    writeFileSync(path.join(dir, `${slug}.test.yml`), stringify(tests, { lineWidth: 0 }));
    const result = promtool("test", "rules", `${slug}.test.yml`);
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toMatch(/SUCCESS/);
  });
});

test("the cluster stack has a rule, and so a firing and a quiet promtool test, of every alert", () => {
  const { config } = parseStackConfig(cluster);
  const names = new Set(generatedRules(config, monitoringSchema.parse({})).map((r) => r.rule.alert));
  expect([...names].sort()).toEqual([...ALERT_NAMES].sort());
});

test("promtool fails a rule test whose expectation is wrong (the tests above can fail)", () => {
  const { config } = parseStackConfig(dev);
  const monitoring = monitoringSchema.parse({});
  writeFileSync(path.join(dir, "wrong.rules.yml"), renderAlertRules(config, monitoring));
  const tests = promtoolTests(config, monitoring, "wrong.rules.yml");
  const firing = tests.tests.find((t) => t.alert_rule_test[0].exp_alerts.length > 0)!;
  firing.alert_rule_test[0].exp_alerts = [];
  writeFileSync(path.join(dir, "wrong.test.yml"), stringify({ ...tests, tests: [firing] }, { lineWidth: 0 }));
  const result = promtool("test", "rules", "wrong.test.yml");
  expect(result.ok).toBe(false);
  expect(result.output).toMatch(/FAILED/);
});

test("NatsAuthEventsExporterDown also fires when Prometheus cannot scrape the exporter, and not for a disconnection shorter than its `for`", () => {
  const { config } = parseStackConfig(dev);
  const monitoring = monitoringSchema.parse({});
  expect(monitoring.alerts.authEventsExporterDown.for).toBe("2m");
  const rule = generatedRules(config, monitoring).find((r) => r.rule.alert === "NatsAuthEventsExporterDown")!.rule;
  writeFileSync(path.join(dir, "exporter.rules.yml"), renderAlertRules(config, monitoring));
  const firing = [{ exp_labels: { ...rule.labels, job: "nats-auth-events" }, exp_annotations: rule.annotations }];
  const at = (minute: number, exp_alerts: typeof firing) => ({ eval_time: `${minute}m`, alertname: rule.alert, exp_alerts });
  const tests = [
    // Every scrape fails from the start: pending before 2m, firing after.
    { name: "scrape failed", interval: "1m", input_series: exporterSeries(0, 0, 6), alert_rule_test: [at(1, []), at(4, firing)] },
    // Not connected for one minute (a server restart), then connected again: never fires.
    {
      name: "a short disconnection",
      interval: "1m",
      input_series: [exporterSeries(1, 1, 6)[0], { series: exporterSeries(1, 1, 6)[1].series, values: "1 0 1 1 1 1 1" }],
      alert_rule_test: [at(2, []), at(5, [])],
    },
  ];
  writeFileSync(path.join(dir, "exporter.test.yml"), stringify({ rule_files: ["exporter.rules.yml"], evaluation_interval: "1m", tests }, { lineWidth: 0 }));
  const result = promtool("test", "rules", "exporter.test.yml");
  expect(result.ok, result.output).toBe(true);
  expect(result.output).toMatch(/SUCCESS/);
});
