// Monitoring on the real Pulumi engine and Docker: the dev stack deployed without monitoring, then
// turned on (preview: Prometheus, Grafana, their volumes and password created, the exporter of
// refused logins and its user's password created, Surveyor replaced for --jsz all, the config
// updated for that user, nothing else), `pulumi preview --expect-no-changes` after the up, ports on
// 127.0.0.1 as configured, Prometheus (Debian's 2.42.0 binary in the stand-in image) scraping the
// deployed Surveyor with every generated rule loaded and the deployed exporter counting a refused
// login, Grafana's files where Grafana reads them
// (through the Grafana stand-in, which is NOT Grafana: test/docker/build-test-image.sh), its
// password never in plain text, the policy pack passing, and `npm run down` keeping both volumes.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { refusedLogins } from "../monitoring/support/authEvents";
import { MONITORING_RESOURCES } from "../monitoring/support/resources";
import { AUTH_EVENTS_PATHS, GRAFANA_ADMIN_PASSWORD_FILE } from "../../components/monitoring";
import { alertRuleGroups } from "../../render/monitoring/alerts";
import { renderDashboards } from "../../render/monitoring/dashboards";
import { dockerPrometheusUrl, GRAFANA_PATHS, renderGrafanaDashboardProviders, renderGrafanaDatasources } from "../../render/monitoring/grafanaProvisioning";
import { docker, dockerOk } from "../harness/docker";
import { EngineStack, prepareEngine, tail } from "../harness/engine";
import { waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE, REPO_ROOT } from "../harness/tools";

let stack: EngineStack;
let ports: { client: number; monitor: number; surveyor: number; prometheus: number; grafana: number };
let images: { prometheus: string; grafana: string };

const buildImage = (kind: string) =>
  execFileSync("bash", [path.join(REPO_ROOT, "test/docker/build-test-image.sh"), kind], { encoding: "utf8", timeout: 180_000, stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").pop()!;
const containerName = (role: string) => `${stack.prefix}-${role}`;
const inspectJson = (name: string) => JSON.parse(dockerOk(["inspect", name]))[0];
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function prometheusApi<T>(endpoint: string): Promise<T> {
  const body = (await (await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/${endpoint}`)).json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`Prometheus ${endpoint}: ${body.error}`);
  return body.data;
}
const query = (expr: string) => prometheusApi<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent(expr)}`).then((d) => d.result);

beforeAll(async () => {
  prepareEngine();
  images = { prometheus: buildImage("prometheus"), grafana: buildImage("grafana") };
  ports = { client: await freePort(), monitor: await freePort(), surveyor: await freePort(), prometheus: await freePort(), grafana: await freePort() };
  const dev = readStackFile(DEV_STACK_FIXTURE);
  stack = new EngineStack({ ...dev, server: { ...(dev.server as object), clientPort: ports.client, monitorPort: ports.monitor }, docker: { surveyor: { port: ports.surveyor } } });
}, 300_000);

afterAll(async () => {
  await stack?.dispose();
});

/** The stack config with monitoring on (fast scrapes, so the test does not wait 15 s per step). */
const withMonitoring = () => ({
  ...stack.config,
  monitoring: {
    prometheus: { enabled: true, port: ports.prometheus, image: images.prometheus, scrapeInterval: "5s", scrapeTimeout: "5s", evaluationInterval: "5s" },
    grafana: { enabled: true, port: ports.grafana, image: images.grafana },
  },
});

describe("monitoring turned on for a deployed stack", () => {
  test("deployed without monitoring, then preview lists only the monitoring resources, Surveyor's replacement and the config's update; up, then nothing left to change", async () => {
    const first = await stack.npmOk("up", ["--yes"]);
    await stack.expectNoChanges();
    stack.setConfig(withMonitoring());
    const steps = await stack.previewSteps();
    console.log(`engine monitoring: preview steps ${JSON.stringify(steps.map((s) => [s.op, s.name, s.diffReasons]))}`);
    expect(steps.filter((s) => s.op === "create").map((s) => s.name).sort()).toEqual(MONITORING_RESOURCES);
    // Everything else is Surveyor's replacement (its command gains --jsz all) and an update of the
    // config (auth.conf gains _auth_events, applied by a reload): no nats container or password.
    const others = steps.filter((s) => s.op !== "create");
    expect([...new Set(others.map((s) => s.name))].sort()).toEqual(["nats-config", "nats-surveyor"]);
    expect(others.filter((s) => s.name === "nats-config").map((s) => s.op)).toEqual(["update"]);
    expect(others.some((s) => s.name === "nats-surveyor" && s.op === "replace" && s.diffReasons.includes("command"))).toBe(true);
    const up = await stack.npmOk("up", ["--yes"]);
    await stack.expectNoChanges();
    console.log(`engine monitoring: first up ${first.ms} ms; up turning monitoring on ${up.ms} ms`);
  });

  test("ports bound on 127.0.0.1 as configured, memory limits, the pinned-image slots filled by the stand-ins", () => {
    for (const [role, port, inside] of [
      ["prometheus", ports.prometheus, "9090/tcp"],
      ["grafana", ports.grafana, "3000/tcp"],
    ] as const) {
      const info = inspectJson(containerName(role));
      expect(info.HostConfig.PortBindings, role).toEqual({ [inside]: [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
      expect(info.HostConfig.Memory, role).toBe(512 * 1024 ** 2);
      expect(info.HostConfig.MemorySwap, role).toBe(512 * 1024 ** 2);
      expect(info.Config.Image).toBe(role === "prometheus" ? images.prometheus : images.grafana);
    }
  });

  test("Prometheus scrapes the deployed Surveyor: up == 1, NATS and stream metrics, every generated rule loaded", async () => {
    let last: unknown = [];
    await waitFor(async () => ((last = await query('up{job="nats-surveyor"} == 1')) as unknown[]).length === 1, 90_000, () => `up{job="nats-surveyor"}: ${JSON.stringify(last)}`);
    await waitFor(async () => (await query('nats_stream_total_messages{stream="EVENTS"}')).length === 1, 60_000, () => "no stream metric for EVENTS (Surveyor without --jsz all?)");
    expect((await query("nats_survey_surveyed_count"))[0].value[1]).toBe("1");
    await waitFor(async () => (await query('up{job="nats-auth-events"} == 1')).length === 1, 60_000, () => "the exporter of refused logins is not scraped");
    const targets = (await prometheusApi<{ activeTargets: { scrapeUrl: string; health: string }[] }>("targets")).activeTargets;
    expect(targets.map((t) => [t.scrapeUrl, t.health]).sort()).toEqual([
      [`http://${containerName("auth-events")}:7778/metrics`, "up"],
      [`http://${containerName("surveyor")}:7777/metrics`, "up"],
    ]);
    const { config } = parseStackConfig(stack.config);
    const expected = alertRuleGroups(config, config.monitoring).groups;
    const loaded = (await prometheusApi<{ groups: { name: string; rules: unknown[] }[] }>("rules")).groups;
    expect(loaded.map((g) => [g.name, g.rules.length])).toEqual(expected.map((g) => [g.name, g.rules.length]));
    // The samples are on the named volume.
    const mounts = inspectJson(containerName("prometheus")).Mounts as { Type: string; Name: string; Destination: string }[];
    expect(mounts).toEqual([expect.objectContaining({ Type: "volume", Name: `${stack.prefix}-prometheus-data`, Destination: "/prometheus" })]);
    expect(docker(["exec", containerName("prometheus"), "ls", "/prometheus"]).stdout).toMatch(/wal/);
  });

  test("the deployed exporter counts a login the deployed server refused, and Prometheus has it", async () => {
    const series = 'nats_infra_auth_errors_total{job="nats-auth-events", server_name="nats-0", user="user-service"}';
    await waitFor(async () => (await query(`${series} == 0`)).length === 1, 60_000, () => "the counter of nats-0 and user-service does not start at 0");
    await refusedLogins([`nats://127.0.0.1:${ports.client}`], "user-service", 3);
    let last: unknown = [];
    await waitFor(async () => ((last = await query(`${series} == 3`)) as unknown[]).length === 1, 30_000, () => `${series}: ${JSON.stringify(last)}\n${docker(["logs", containerName("auth-events")]).stderr}`);
    expect((await query('nats_infra_auth_events_connected{job="nats-auth-events"}'))[0].value[1]).toBe("1");
  });

  test("Grafana's files are where Grafana reads them, as rendered; its datasource URL answers from Grafana's network (stand-in image)", async () => {
    const grafana = `http://127.0.0.1:${ports.grafana}`;
    let health = "";
    await waitFor(async () => (health = await (await fetch(`${grafana}/api/health`)).text()).includes('"database":"ok"'), 30_000, () => `stand-in health: ${health}`);
    const listing = await (await fetch(`${grafana}/provisioning.txt`)).text();
    const { config } = parseStackConfig(stack.config);
    const expected: Record<string, string> = {
      [GRAFANA_PATHS.datasources]: renderGrafanaDatasources(dockerPrometheusUrl(config)),
      [GRAFANA_PATHS.dashboardProviders]: renderGrafanaDashboardProviders(config, GRAFANA_PATHS.dashboards),
      ...Object.fromEntries(Object.entries(renderDashboards(config)).map(([file, json]) => [`${GRAFANA_PATHS.dashboards}/${file}`, json])),
    };
    const lines = listing.trim().split("\n");
    for (const [file, content] of Object.entries(expected)) expect(lines, file).toContain(`${file} ${Buffer.byteLength(content)} ${sha256(content)}`);
    expect(lines).toContain(`${GRAFANA_ADMIN_PASSWORD_FILE} 32 (the admin password: its length only)`);
    expect(lines).toHaveLength(Object.keys(expected).length + 1);
    // The datasource's URL, from inside the Grafana container.
    const ready = docker(["exec", containerName("grafana"), "wget", "-qO-", `${dockerPrometheusUrl(config).replace("nats-infra", stack.prefix)}/-/ready`]);
    expect(ready.stdout + ready.stderr).toMatch(/Prometheus (Server )?is Ready/);
    const password = (await stack.outputs()).grafanaAdmin.password as string;
    expect(docker(["exec", containerName("grafana"), "cat", GRAFANA_ADMIN_PASSWORD_FILE]).stdout).toBe(password);
  });

  test("the outputs: endpoints, and Grafana's admin (secret) that is never in plain text in the state, `pulumi stack export` or `docker inspect`", async () => {
    const outputs = await stack.outputs();
    expect(outputs.monitoring).toEqual({ prometheus: `http://127.0.0.1:${ports.prometheus}`, grafana: `http://127.0.0.1:${ports.grafana}` });
    expect(outputs.grafanaAdmin).toEqual({ user: "admin", password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), url: `http://127.0.0.1:${ports.grafana}` });
    const password = outputs.grafanaAdmin.password as string;
    const plain = await stack.pulumi(["stack", "output", "grafanaAdmin", "--json"]);
    expect(plain.stdout).toContain("[secret]");
    const exported = await stack.pulumi(["stack", "export"]);
    expect(exported.status).toBe(0);
    const containers = dockerOk(["ps", "-aq", "--filter", `name=^${stack.prefix}`]).split("\n").filter(Boolean);
    expect(containers.length).toBe(5);
    const places = { "state files": stack.readState(), "pulumi stack export": exported.stdout, "docker inspect": docker(["inspect", ...containers]).stdout };
    const exporterPassword = docker(["exec", containerName("auth-events"), "cat", AUTH_EVENTS_PATHS.password]).stdout;
    expect(exporterPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
    for (const [where, text] of Object.entries(places)) {
      expect(text.length, where).toBeGreaterThan(1000);
      expect(text.includes(password), `Grafana's password in ${where}`).toBe(false);
      expect(text.includes(exporterPassword), `the exporter's password in ${where}`).toBe(false);
    }
    expect(inspectJson(containerName("grafana")).Config.Env).toContain(`GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_ADMIN_PASSWORD_FILE}`);
  });

  test("the stack with monitoring passes `--policy-pack policies`", async () => {
    const preview = await stack.npm("preview", ["--policy-pack", "policies"]);
    expect(preview.status, tail(preview.stdout + preview.stderr)).toBe(0);
    expect(preview.stdout).toMatch(/Policy Packs run:\s+Name\s+Version\s+nats-infra\|local\|policies/);
    expect(preview.stdout).not.toMatch(/mandatory|advisory/);
  });

  test("npm run down keeps the metric history and Grafana's volumes beside the JetStream one", async () => {
    await stack.npmOk("down", ["--yes"]);
    expect(dockerOk(["ps", "-aq", "--filter", `name=^${stack.prefix}`])).toBe("");
    expect(stack.volumes().sort()).toEqual([`${stack.prefix}-grafana-data`, `${stack.prefix}-jetstream`, `${stack.prefix}-prometheus-data`].sort());
  });
});
