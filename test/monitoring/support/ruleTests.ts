// promtool unit tests for every generated alert rule, generated beside the rules: for each rule,
// input series that cross its threshold (the alert fires with exactly its labels and texts after
// its `for`) and series that stay at the threshold (it does not fire). The inputs carry the labels
// Surveyor really exports (read from its /metrics), including a server_name the rules aggregate away.
import { AUTH_EVENTS_JOB, promDurationMs, SURVEYOR_JOB, type MonitoringConfig } from "../../../config/monitoring";
import type { StackConfig } from "../../../config/schema";
import { AUTH_ERRORS_USER_TEMPLATE, generatedRules, type GeneratedRule } from "../../../render/monitoring/alerts";
import { promString } from "../../../render/monitoring/promql";
import { stackFacts } from "../../../render/monitoring/stackFacts";

interface InputSeries {
  series: string;
  values: string;
}

interface PromtoolTest {
  name: string;
  interval: string;
  input_series: InputSeries[];
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[] }[];
}

const series = (metric: string, labels: Record<string, string>): string =>
  `${metric}{${Object.entries({ job: metric.startsWith("nats_infra_auth_") ? AUTH_EVENTS_JOB : SURVEYOR_JOB, ...labels })
    .map(([k, v]) => `${k}=${promString(v)}`)
    .join(",")}}`;

/** The exporter of refused logins as Prometheus records it: its scrape's `up` and its connected gauge. */
export function exporterSeries(up: number, connected: number, samples: number): InputSeries[] {
  const instance = { job: AUTH_EVENTS_JOB, instance: "auth-events:7778" };
  return [
    { series: series("up", instance), values: `${up}x${samples}` },
    // A failed scrape records no sample of the exporter's own series.
    { series: series("nats_infra_auth_events_connected", instance), values: up ? `${connected}x${samples}` : `_x${samples}` },
  ];
}

/** Minutes of a duration, rounded up. */
const minutes = (duration: string) => Math.ceil(promDurationMs(duration) / 60_000);

/** A scenario: the series that make the rule's condition true (`over`) or leave it false (`at`). */
type Scenario = (over: boolean, samples: number) => InputSeries[];

/**
 * What a scenario needs beyond its series: the window its rule looks back over, and for a rule
 * whose result carries a label the rule cannot know (the user of a refused login), that label
 * and the annotations as Prometheus expands them.
 */
interface ScenarioOf {
  scenario: Scenario;
  window: string;
  firing?: { labels: Record<string, string>; annotations: Record<string, string> };
}

function scenario(config: StackConfig, monitoring: MonitoringConfig, generated: GeneratedRule): ScenarioOf {
  const facts = stackFacts(config);
  const a = monitoring.alerts;
  const { alert } = generated.rule;
  const labels = generated.resultLabels;
  const constant = (value: number, samples: number) => `${value}x${samples}`;
  const up = (value: number, samples: number): InputSeries => ({ series: series("up", { instance: "surveyor:7777" }), values: constant(value, samples) });
  // A threshold from the rule's own expression ("> N", "< N", ">= N"): the rule under test states it.
  const threshold = Number(/(?:>=|>|<) (\d+)$/.exec(generated.rule.expr)?.[1]);
  const gauge = (metric: string, extra: Record<string, string> = {}): Scenario => (over, samples) => [up(1, samples), { series: series(metric, { ...labels, ...extra }), values: constant(over ? threshold + 1 : threshold, samples) }];
  const onNode = { server_name: facts.servers[0] };
  switch (alert) {
    case "NatsNodeNotSurveyed":
      return {
        window: "0s",
        scenario: (over, samples) => [
          up(1, samples),
          ...facts.servers
            .filter((server) => !over || server !== labels.server_name)
            .map((server) => ({ series: series("nats_core_info", { server_name: server, server_id: `ID-${server}`, server_version: "2.14.10" }), values: constant(1, samples) })),
        ],
      };
    case "NatsSurveyorDown":
      return { window: "0s", scenario: (over, samples) => [up(over ? 0 : 1, samples)] };
    case "NatsAccountStorageHigh":
      return { window: "0s", scenario: gauge(generated.rule.labels.storage === "file" ? "nats_core_account_jetstream_storage_used" : "nats_core_account_jetstream_memory_used", { account_name: labels.account }) };
    case "NatsServerStorageHigh":
      return { window: "0s", scenario: gauge(generated.rule.labels.storage === "file" ? "nats_core_jetstream_filestore_used_bytes" : "nats_core_jetstream_memstore_used_bytes", { server_id: "ID", cluster_name: "" }) };
    case "NatsStreamStorageHigh":
      return { window: "0s", scenario: gauge("nats_stream_total_bytes", onNode) };
    case "NatsConsumerPending":
      return { window: "0s", scenario: gauge("nats_consumer_num_pending", onNode) };
    case "NatsConsumerAckPending":
      return { window: "0s", scenario: gauge("nats_consumer_num_ack_pending", onNode) };
    case "NatsConsumerStalled":
      return {
        window: a.consumerStalled.after,
        scenario: (over, samples) => [
          up(1, samples),
          { series: series("nats_consumer_num_pending", { ...labels, ...onNode }), values: constant(5, samples) },
          { series: series("nats_consumer_num_ack_pending", { ...labels, ...onNode }), values: constant(2, samples) },
          // Stalled: the ack floor stays; moving: it advances every sample.
          { series: series("nats_consumer_ack_floor_stream_seq", { ...labels, ...onNode }), values: over ? constant(7, samples) : `7+1x${samples}` },
        ],
      };
    case "NatsSlowConsumers":
      return {
        window: a.slowConsumers.window,
        // Rising by `increase` per minute, or flat at a count reached long ago.
        scenario: (over, samples) => [up(1, samples), { series: series("nats_core_slow_consumer_count", { ...labels, server_id: "ID" }), values: over ? `3+${a.slowConsumers.increase}x${samples}` : constant(3, samples) }],
      };
    case "NatsConnectionsHigh":
      return { window: "0s", scenario: gauge("nats_core_connection_count", { server_id: "ID" }) };
    case "NatsAuthErrorsRising": {
      // Refused logins for a service of the stack, rising by `increase` per minute, or a count
      // reached long ago; beside them the "other" series, flat, which must not fire.
      const user = config.services[0].name;
      const errors = (name: string, values: string) => ({ series: series("nats_infra_auth_errors_total", { ...labels, user: name, instance: "auth-events:7778" }), values });
      const expand = (text: string) => text.replace(AUTH_ERRORS_USER_TEMPLATE, `its user ${user}`);
      return {
        window: a.authErrors.window,
        scenario: (over, samples) => [errors(user, over ? `0+${a.authErrors.increase}x${samples}` : constant(7, samples)), errors("other", constant(3, samples))],
        firing: { labels: { user }, annotations: { summary: expand(generated.rule.annotations.summary), description: expand(generated.rule.annotations.description) } },
      };
    }
    case "NatsAuthEventsExporterDown":
      // Firing here: scraped but not connected to NATS. A failed scrape (up 0) is the other
      // cause, tested on its own by exporterScrapeFailed().
      return { window: "0s", scenario: (over, samples) => exporterSeries(1, over ? 0 : 1, samples) };
    case "NatsRouteDown":
      // Below the threshold fires: "over" means one route short of the expected count.
      return { window: "0s", scenario: (over, samples) => [up(1, samples), { series: series("nats_core_route_count", { ...labels, server_id: "ID" }), values: constant(over ? threshold - 1 : threshold, samples) }] };
  }
}

/** The promtool test file for `rulesFile` (a path relative to the test file, as promtool reads it). */
export function promtoolTests(config: StackConfig, monitoring: MonitoringConfig, rulesFile: string) {
  const tests: PromtoolTest[] = [];
  for (const generated of generatedRules(config, monitoring)) {
    const { scenario: make, window, firing } = scenario(config, monitoring, generated);
    // Past the rule's window and its `for`, with room for the evaluation that starts the `for`.
    const evalMinutes = minutes(window) + minutes(generated.rule.for) + 2;
    const samples = evalMinutes + 2;
    const subject = Object.values(generated.resultLabels).join("/");
    for (const over of [true, false]) {
      tests.push({
        name: `${generated.rule.alert} ${generated.rule.labels.storage ?? ""} ${subject} ${over ? "fires" : "stays quiet"}`.replace(/ +/g, " "),
        interval: "1m",
        input_series: make(over, samples),
        alert_rule_test: [
          // Pending, not firing, one minute before its `for` has passed (the condition holds from the start).
          ...(over && minutes(generated.rule.for) >= 2 ? [{ eval_time: `${minutes(generated.rule.for) - 1}m`, alertname: generated.rule.alert, exp_alerts: [] }] : []),
          {
            eval_time: `${evalMinutes}m`,
            alertname: generated.rule.alert,
            exp_alerts: over ? [{ exp_labels: { ...generated.rule.labels, ...generated.resultLabels, ...firing?.labels }, exp_annotations: firing?.annotations ?? generated.rule.annotations }] : [],
          },
        ],
      });
    }
  }
  return { rule_files: [rulesFile], evaluation_interval: "1m", tests };
}
