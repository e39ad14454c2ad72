// A stack with monitoring, all real processes on 127.0.0.1: a nats-server cluster rendered as the
// product renders it, its declared streams created by the product's reconciler, NATS Surveyor as
// the component declares it (taken under Pulumi mocks), and Debian's prometheus loading the
// generated prometheus.yml and rules file, scraping that Surveyor and the exporter of refused
// logins (tools/auth-events, logging in as the stack's `_auth_events` user as the deployment's
// does). Tests read Prometheus's own API: what a query returns, which alerts are pending or firing.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { monitoringSchema, type MonitoringConfig, type MonitoringInput } from "../../../config/monitoring";
import type { StackConfig } from "../../../config/schema";
import { AUTH_EVENTS_USER, natsUsers, SURVEYOR_USER } from "../../../config/users";
import { renderAlertRules } from "../../../render/monitoring/alerts";
import { prometheusArgs, renderPrometheusConfig } from "../../../render/monitoring/prometheusConfig";
import { startCluster, type RunningCluster } from "../../harness/natsCluster";
import { waitFor } from "../../harness/natsServer";
import { freePort } from "../../harness/ports";
import { runProgram, unwrapSecrets } from "../../harness/pulumiMocks";
import { reconcileDeclared } from "../../harness/reconcileDeclared";
import { declaredSurveyor, localSurveyor, startSurveyor, type RunningSurveyor } from "../../harness/surveyor";
import { startAuthEvents, type RunningAuthEvents } from "./authEvents";
import { prometheusTool } from "./prometheusTools";
import { terminate } from "../../harness/processes";

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
}

export interface RunningPrometheus {
  url: string;
  /** An instant query's result vector (throws on a query error, with Prometheus's message). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<ActiveAlert[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Runs prometheus on the generated config and rules in a temporary directory, listening on
 * 127.0.0.1 and a free port; resolves once it is ready.
 */
export async function startPrometheus(config: StackConfig, monitoring: MonitoringConfig, surveyorTarget: string, authEventsTarget?: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-prometheus-"));
  const rulesFile = path.join(dir, "nats-infra.rules.yml");
  const configFile = path.join(dir, "prometheus.yml");
  writeFileSync(rulesFile, renderAlertRules(config, monitoring));
  writeFileSync(configFile, renderPrometheusConfig(config, monitoring, { surveyorTarget, authEventsTarget, rulesFile }));
  mkdirSync(path.join(dir, "data"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(prometheusTool("prometheus"), prometheusArgs(monitoring, { config: configFile, data: path.join(dir, "data"), listen: `127.0.0.1:${port}` }), { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const api = async <T>(endpoint: string): Promise<T> => {
    const body = (await (await fetch(`${url}/api/v1/${endpoint}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${endpoint}: ${body.error}`);
    return body.data;
  };
  const prometheus: RunningPrometheus = {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent(expr)}`);
      return data.result;
    },
    async alerts() {
      return (await api<{ alerts: ActiveAlert[] }>("alerts")).alerts;
    },
    log: () => log,
    async stop() {
      await terminate(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => child.exitCode !== null || (await fetch(`${url}/-/ready`)).ok, 30_000, () => `prometheus did not become ready on ${url}:\n${log}`);
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
  } catch (error) {
    await prometheus.stop();
    throw error;
  }
  return prometheus;
}

export interface MonitoredStack {
  config: StackConfig;
  monitoring: MonitoringConfig;
  cluster: RunningCluster;
  surveyor: RunningSurveyor;
  authEvents: RunningAuthEvents;
  prometheus: RunningPrometheus;
  stop(): Promise<void>;
}

/** Starts the whole chain for `raw` (a stack without prefix) on `nodes` servers. */
export async function startMonitoredStack(raw: Record<string, unknown>, nodes: number, monitoringInput: MonitoringInput): Promise<MonitoredStack> {
  const monitoring = monitoringSchema.parse(monitoringInput);
  // Surveyor as the component declares it with Prometheus on (which adds --jsz all).
  const withPrometheus = { ...raw, monitoring: { ...monitoringInput, prometheus: { ...monitoringInput.prometheus, enabled: true } } };
  const run = await runProgram({ ...withPrometheus, cluster: { nodes } });
  const declared = declaredSurveyor(unwrapSecrets(run.byName("nats-surveyor").inputs) as never);
  // Rendered with Prometheus on, as deployed: the servers then know the exporter's user.
  const cluster = await startCluster(withPrometheus, nodes);
  const stopped: (() => Promise<void>)[] = [() => cluster.stop()];
  const stopAll = async () => {
    for (const stop of stopped.reverse()) await stop();
  };
  try {
    await reconcileDeclared(cluster.config, cluster.urls, cluster.passwords);
    const local = localSurveyor(declared, cluster.urlList, cluster.passwords[SURVEYOR_USER]);
    if (!local.args.includes("--jsz")) throw new Error(`the component's Surveyor has no --jsz all with Prometheus on: ${local.args.join(" ")}`);
    const surveyor = await startSurveyor(local);
    stopped.push(() => surveyor.stop());
    // As components/monitoring.ts runs it: every user of the stack by name, every node from 0.
    const users = natsUsers(cluster.config);
    const authEvents = await startAuthEvents({
      servers: cluster.urls,
      password: cluster.passwords[AUTH_EVENTS_USER],
      users: users.map((u) => u.user),
      serverNames: cluster.nodes.map((n) => n.serverName),
      inboxPrefix: users.find((u) => u.user === AUTH_EVENTS_USER)!.inboxPrefix,
    });
    stopped.push(() => authEvents.stop());
    const prometheus = await startPrometheus(cluster.config, monitoring, new URL(surveyor.metricsUrl).host, authEvents.target);
    stopped.push(() => prometheus.stop());
    return { config: cluster.config, monitoring, cluster, surveyor, authEvents, prometheus, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Whether an alert of `name` whose labels include `labels` is in `state`. */
export function alertIn(alerts: ActiveAlert[], name: string, labels: Record<string, string>, state: "pending" | "firing" = "firing"): ActiveAlert | undefined {
  return alerts.find((a) => a.labels.alertname === name && a.state === state && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
}

/**
 * Polls Prometheus until the alert is firing (`until: "firing"`) or gone (`until: "cleared"`);
 * returns the milliseconds from `since` (performance.now() of the cause or the fix).
 */
export async function untilAlert(prometheus: RunningPrometheus, name: string, labels: Record<string, string>, until: "firing" | "cleared", since: number, timeoutMs: number): Promise<number> {
  let last: ActiveAlert[] = [];
  await waitFor(
    async () => {
      last = await prometheus.alerts();
      const active = last.some((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
      return until === "firing" ? alertIn(last, name, labels) !== undefined : !active;
    },
    timeoutMs,
    () => `${name} ${JSON.stringify(labels)} was not ${until} within ${timeoutMs} ms; active alerts: ${JSON.stringify(last.map((a) => ({ ...a.labels, state: a.state })))}`,
  );
  return Math.round(performance.now() - since);
}
