// `nats-infra dev --monitoring` as a person runs it (node cli/nats-infra.cjs, its own process
// group as a terminal's foreground job): the real Surveyor (.tools/bin/nats-surveyor) and
// Debian's prometheus beside the dev server on 127.0.0.1, Prometheus scraping Surveyor with the
// stack's generated rules loaded, stream metrics present (--jsz all), a save that adds a stream
// reloading the rules. The stack file does not set monitoring.prometheus.enabled: --monitoring
// runs the dev server as if it did, so it has the `_auth_events` user, and the exporter of refused
// logins (.tools/bin/nats-infra-auth-events) runs, is scraped, and counts wrong-password logins to
// the dev node. One Ctrl-C stops every process it started.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { parseStackConfig, readStackFile, withPrometheusOn } from "../../config/load";
import { AUTH_EVENTS_USER } from "../../config/users";
import { DevMonitoring, DevMonitoringUnavailable } from "../../ops/devMonitoring";
import { alertRuleGroups } from "../../render/monitoring/alerts";
import { waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { surveyorBinary } from "../harness/surveyor";
import { DEV_STACK_FIXTURE, REPO_ROOT } from "../harness/tools";
import { authEventsBinary, refusedLogins } from "../monitoring/support/authEvents";
import { prometheusTool, prometheusVersion } from "../monitoring/support/prometheusTools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-dev-monitoring-"));
const stateDir = path.join(scratch, "state");
let devPid: number | undefined;

afterAll(() => {
  // A failed test must not leave processes behind.
  for (const pid of [...processesOf(stateDir), ...(devPid ? [devPid] : [])]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** Every process whose argv names the state dir (nats-server -c, nats-surveyor --config, prometheus --config.file), by program. */
function processesOf(dir: string): number[] {
  return programsOf(dir).map((p) => p.pid);
}

function programsOf(dir: string): { pid: number; program: string; argv: string[] }[] {
  const found: { pid: number; program: string; argv: string[] }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue;
      if (argv.some((a) => a.includes(`${dir}/`))) found.push({ pid: Number(entry), program: path.basename(argv[0]), argv });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

async function api<T>(base: string, endpoint: string): Promise<T> {
  const body = (await (await fetch(`${base}/api/v1/${endpoint}`)).json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`Prometheus ${endpoint}: ${body.error}`);
  return body.data;
}
const query = (base: string, expr: string) => api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(base, `query?query=${encodeURIComponent(expr)}`).then((d) => d.result);
type RuleGroups = { groups: { name: string; file: string; rules: { name: string; labels?: Record<string, string> }[] }[] };

test("dev --monitoring: Surveyor, Prometheus and the exporter of refused logins beside the dev server, the targets up, the rules loaded and reloaded on a save, refused logins counted, Ctrl-C stops them all", async () => {
  console.log(`prometheus: ${prometheusTool("prometheus")} (${prometheusVersion()}); surveyor: ${surveyorBinary().source}; exporter: ${authEventsBinary()}`);
  const raw = readStackFile(DEV_STACK_FIXTURE);
  const [client, monitor, surveyorPort, prometheusPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const stack = { ...raw, server: { ...(raw.server as object), clientPort: client, monitorPort: monitor }, docker: { surveyor: { port: surveyorPort } }, monitoring: { prometheus: { port: prometheusPort, scrapeInterval: "5s", scrapeTimeout: "5s", evaluationInterval: "1s" } } };
  const stackFile = path.join(scratch, "Pulumi.devmon.yaml");
  const write = (config: Record<string, unknown>) => writeFileSync(stackFile, stringifyYaml({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`nats-infra:${k}`, v])) }));
  write(stack);

  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), "dev", "--stack-file", stackFile, "--state-dir", stateDir, "--monitoring"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  devPid = child.pid;
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await waitFor(async () => /^ready$/m.test(output) || child.exitCode !== null, 120_000, () => `nats-infra dev --monitoring did not start:\n${output}`);
  expect(child.exitCode, output).toBeNull();
  const readyMs = Date.now() - started;

  // Where to look: the configured ports, on 127.0.0.1.
  const prometheus = `http://127.0.0.1:${prometheusPort}`;
  expect(output).toContain(`  surveyor:    http://127.0.0.1:${surveyorPort}/metrics`);
  expect(output).toContain(`  prometheus:  ${prometheus} (alerts: ${prometheus}/alerts`);
  expect(output).toMatch(/ {2}rules: {7}.*monitoring\/nats-infra\.rules\.yml/);
  // monitoring.prometheus.enabled is not set in the file, and the exporter runs all the same.
  expect(output).not.toMatch(/^monitoring: no exporter of refused logins/m);
  expect(output).toMatch(/^ {2}auth errors: http:\/\/127\.0\.0\.1:\d+\/metrics /m);

  // The Surveyor target up, as Prometheus itself reports it.
  let targets: { labels: Record<string, string>; health: string; scrapeUrl: string }[] = [];
  await waitFor(
    async () => {
      targets = (await api<{ activeTargets: typeof targets }>(prometheus, "targets")).activeTargets;
      return targets.some((t) => t.labels.job === "nats-surveyor" && t.health === "up");
    },
    60_000,
    () => `the Surveyor target never came up: ${JSON.stringify(targets)}\n${output}`,
  );
  const upMs = Date.now() - started;
  expect(targets.filter((t) => t.labels.job === "nats-surveyor").map((t) => t.scrapeUrl)).toEqual([`http://127.0.0.1:${surveyorPort}/metrics`]);
  expect(targets.map((t) => t.labels.job).sort()).toEqual(["nats-auth-events", "nats-surveyor"]);
  expect((await query(prometheus, 'up{job="nats-surveyor"} == 1')).length).toBe(1);
  // NATS metrics through Surveyor: the one node surveyed, and the EVENTS stream (only with --jsz all).
  await waitFor(async () => (await query(prometheus, 'nats_stream_total_messages{stream="EVENTS"}')).length > 0, 30_000, () => "no nats_stream_total_messages for EVENTS");
  expect((await query(prometheus, "nats_survey_surveyed_count"))[0].value[1]).toBe("1");

  // Every generated rule loaded, from the generated file, in the same groups.
  const { config } = parseStackConfig(withPrometheusOn(stack));
  const expected = alertRuleGroups(config, config.monitoring).groups;
  const loaded = await api<RuleGroups>(prometheus, "rules");
  expect(loaded.groups.map((g) => [g.name, g.rules.length])).toEqual(expected.map((g) => [g.name, g.rules.length]));
  expect(loaded.groups[0].file).toBe(path.join(stateDir, "monitoring", "nats-infra.rules.yml"));
  const ruleCount = expected.reduce((n, g) => n + g.rules.length, 0);
  expect(ruleCount).toBeGreaterThan(5);

  // Surveyor's password is in its private file, not on its command line.
  const password = JSON.parse(readFileSync(path.join(stateDir, "credentials.json"), "utf8"))._surveyor.password as string;
  const programs = programsOf(stateDir);
  expect(programs.map((p) => p.program).sort()).toEqual(["nats-infra-auth-events", "nats-server", "nats-surveyor", "prometheus"]);
  for (const p of programs) expect(p.argv.join(" ")).not.toContain(password);
  expect(readFileSync(path.join(stateDir, "monitoring", "surveyor.yaml"), "utf8")).toContain(password);

  // A save that adds a stream with maxBytes: its storage alert appears without a restart of
  // Prometheus.
  const prometheusPid = programs.find((p) => p.program === "prometheus")!.pid;
  const streams = [...(raw.streams as object[]), { name: "AUDIT", subjects: ["audit.>"], storage: "file", maxBytes: "1GB" }];
  write({ ...stack, streams });
  const hasAuditRule = async () => (await api<RuleGroups>(prometheus, "rules")).groups.some((g) => g.rules.some((r) => r.name === "NatsStreamStorageHigh" && r.labels?.stream === "AUDIT"));
  await waitFor(hasAuditRule, 60_000, () => `the AUDIT stream's rule was not loaded after the save:\n${output}`);
  expect(output).toMatch(/^monitoring: Prometheus reloads /m);
  expect(programsOf(stateDir).find((p) => p.program === "prometheus")!.pid).toBe(prometheusPid);

  // The exporter: where it is, on 127.0.0.1, scraped by the same Prometheus.
  const exporterUrl = /^monitoring: the exporter of refused logins serves (http:\/\/127\.0\.0\.1:(\d+)\/metrics) /m.exec(output);
  expect(exporterUrl, output).not.toBeNull();
  const exporterPort = Number(exporterUrl![2]);
  await waitFor(
    async () => {
      targets = (await api<{ activeTargets: typeof targets }>(prometheus, "targets")).activeTargets;
      return targets.some((t) => t.labels.job === "nats-auth-events" && t.health === "up");
    },
    60_000,
    () => `the exporter's target never came up: ${JSON.stringify(targets)}\n${output}`,
  );
  expect(targets.find((t) => t.labels.job === "nats-auth-events")!.scrapeUrl).toBe(exporterUrl![1]);
  expect((await query(prometheus, 'nats_infra_auth_events_connected{job="nats-auth-events"}'))[0].value[1]).toBe("1");

  // Its password only in a private file: not in its arguments, not in its environment.
  const exporterPassword = JSON.parse(readFileSync(path.join(stateDir, "credentials.json"), "utf8"))[AUTH_EVENTS_USER].password as string;
  const exporter = programsOf(stateDir).find((p) => p.program === "nats-infra-auth-events")!;
  expect(exporter, JSON.stringify(programsOf(stateDir))).toBeDefined();
  const passwordFile = path.join(stateDir, "monitoring", "auth-events-password");
  const flag = (name: string) => exporter.argv[exporter.argv.indexOf(name) + 1];
  expect(flag("--user")).toBe(AUTH_EVENTS_USER);
  expect(flag("--password-file")).toBe(passwordFile);
  expect(flag("--listen")).toBe(`127.0.0.1:${exporterPort}`);
  expect(flag("--server-names")).toBe("nats-0");
  expect(flag("--users").split(",")).toEqual(expect.arrayContaining(["user-service", "teacher-service", AUTH_EVENTS_USER]));
  expect(exporter.argv.join(" ")).not.toContain(exporterPassword);
  expect(readFileSync(`/proc/${exporter.pid}/environ`, "utf8")).not.toContain(exporterPassword);
  expect(readFileSync(passwordFile, "utf8").trim()).toBe(exporterPassword);
  expect(statSync(passwordFile).mode & 0o777).toBe(0o600);

  // Wrong-password logins to the dev node: Prometheus sees that node's counter for the user rise.
  const errors = 'nats_infra_auth_errors_total{job="nats-auth-events", server_name="nats-0", user="user-service"}';
  let count = NaN;
  const counted = async () => (count = Number((await query(prometheus, errors))[0]?.value[1] ?? NaN));
  await waitFor(async () => (await counted()) === 0, 30_000, () => `${errors} was never scraped at 0: ${count}`);
  const refusedAt = Date.now();
  await refusedLogins([`nats://127.0.0.1:${client}`], "user-service", 3);
  await waitFor(async () => (await counted()) === 3, 30_000, () => `${errors} did not reach 3: ${count}`);
  const countedMs = Date.now() - refusedAt;
  const exporterAlerts = (await api<{ alerts: { labels: Record<string, string> }[] }>(prometheus, "alerts")).alerts.filter((a) => a.labels.alertname === "NatsAuthEventsExporterDown");
  expect(exporterAlerts).toEqual([]);

  // Ctrl-C: the terminal's SIGINT to the whole foreground process group.
  const sent = Date.now();
  process.kill(-child.pid!, "SIGINT");
  expect(await exited, output).toEqual({ code: 0, signal: null });
  const stoppedMs = Date.now() - sent;
  expect(output).toMatch(/^stopped$/m);
  expect(programsOf(stateDir), "processes left").toEqual([]);
  expect(await Promise.all([client, monitor, surveyorPort, prometheusPort, exporterPort].map(canBind))).toEqual([true, true, true, true, true]);
  console.log(
    `dev --monitoring: ready after ${readyMs} ms, Surveyor target up after ${upMs} ms, ${ruleCount} rules in ${expected.length} group(s); 3 refused logins in Prometheus after ${countedMs} ms; Ctrl-C to everything stopped: ${stoppedMs} ms`,
  );
}, 240_000);

test("dev --monitoring on a stack with the exporter's user but no built exporter: refused before anything starts, saying that `npm run tools` builds it", async () => {
  const dir = path.join(scratch, "no-exporter");
  const stackFile = path.join(scratch, "Pulumi.noexporter.yaml");
  const raw = readStackFile(DEV_STACK_FIXTURE);
  const stack = { ...raw, monitoring: { prometheus: { enabled: true } } };
  writeFileSync(stackFile, stringifyYaml({ config: Object.fromEntries(Object.entries(stack).map(([k, v]) => [`nats-infra:${k}`, v])) }));
  const missing = path.join(scratch, "nats-infra-auth-events");
  const started = DevMonitoring.start({ stackFile, stateDir: dir, surveyorBinary: surveyorBinary().path, prometheusBinary: prometheusTool("prometheus"), authEventsBinary: missing, surveyorPort: 0, prometheusPort: 0, log: () => undefined });
  await expect(started).rejects.toBeInstanceOf(DevMonitoringUnavailable);
  await expect(started).rejects.toThrow(`${missing} is missing: run \`npm run tools\``);
  expect(programsOf(dir)).toEqual([]);
});
