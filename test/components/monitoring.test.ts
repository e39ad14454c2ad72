// Prometheus and Grafana as the component declares them, under Pulumi mocks: nothing without
// `monitoring`, and with it two containers on loopback with pinned images, memory limits, their
// files uploaded, Grafana's password only in a secret file, data on retained volumes; the exporter
// of refused logins beside them, unpublished, its password in a secret file; and a stack deployed
// before monitoring existed sees no change at all.
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { beforeAll, describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, readStackFile } from "../../config/load";
import { GRAFANA_IMAGE, monitoringSchema, PROMETHEUS_IMAGE } from "../../config/monitoring";
import { AUTH_EVENTS_BINARY, AUTH_EVENTS_PATHS, authEventsBinary, GRAFANA_ADMIN_PASSWORD_FILE } from "../../components/monitoring";
import { SURVEYOR } from "../../config/pinnedVersions";
import { sidecarsOf } from "../../ops/clean";
import { AUTH_ERROR_SUBJECT, AUTH_EVENTS_USER } from "../../config/users";
import { renderAlertRules } from "../../render/monitoring/alerts";
import { renderDashboards } from "../../render/monitoring/dashboards";
import { GRAFANA_PATHS } from "../../render/monitoring/grafanaProvisioning";
import { PROMETHEUS_PATHS } from "../../render/monitoring/prometheusConfig";
import { isSecretWrapper, outputValue, plaintextOccurrences, runProgram, unwrapSecrets, type ProgramRun, type RecordedResource } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";
import { MONITORING_RESOURCES } from "../monitoring/support/resources";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const DEV = readStackFile(DEV_STACK_FIXTURE);
const ON = { prometheus: { enabled: true, port: 19090 }, grafana: { enabled: true, port: 13000 } };

const plain = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
const uploadsOf = (r: RecordedResource) => new Map((plain(r).uploads as { file: string; content: string }[]).map((u) => [u.file, u.content]));

/** Every resource by name with its inputs, secrets unwrapped: what the engine diffs. */
const inputsByName = (run: ProgramRun) => new Map(run.resources.map((r) => [r.name, plain(r)]));

let dev: ProgramRun;
let on: ProgramRun;
beforeAll(async () => {
  dev = await runProgram(DEV);
  on = await runProgram({ ...DEV, monitoring: ON });
});

describe("off by default", () => {
  test("no Prometheus, Grafana, volume, password or output; Surveyor's command as before", () => {
    const names = dev.resources.map((r) => r.name);
    expect(names.filter((n) => /prometheus|grafana/.test(n))).toEqual([]);
    expect(dev.exports.monitoring).toBeUndefined();
    expect(dev.exports.grafanaAdmin).toBeUndefined();
    expect(plain(dev.byName("nats-surveyor")).command).toEqual(["--config", "/etc/nats-infra/surveyor.yaml"]);
  });

  test("a stack without the key, with it empty, or with thresholds only registers the same resources with the same inputs", async () => {
    const before = inputsByName(dev);
    for (const monitoring of [{}, { prometheus: { enabled: false }, grafana: { enabled: false } }, { alerts: { consumerPending: { pending: 5 } } }]) {
      const after = inputsByName(await runProgram({ ...DEV, monitoring }));
      expect([...after.keys()], JSON.stringify(monitoring)).toEqual([...before.keys()]);
      const changed = [...after.keys()].filter((name) => !isDeepStrictEqual(after.get(name), before.get(name)));
      expect(changed, JSON.stringify(monitoring)).toEqual([]);
    }
  });
});

describe("monitoring on", () => {
  test("turning it on creates its own resources and changes only Surveyor's command (--jsz all) and the config (the exporter's user); no nats container or password changes", () => {
    const before = inputsByName(dev);
    const after = inputsByName(on);
    const created = [...after.keys()].filter((n) => !before.has(n));
    expect(created.sort()).toEqual(MONITORING_RESOURCES);
    expect([...before.keys()].filter((n) => !after.has(n))).toEqual([]);
    const changed = [...before.keys()].filter((n) => !isDeepStrictEqual(after.get(n), before.get(n)));
    // The config command (an update: auth.conf gains _auth_events, applied by a reload).
    expect(changed).toEqual(["nats-config", "nats-surveyor"]);
    expect(after.get("nats-config")!.environment.NATS_PERMISSIONS__AUTH_EVENTS).toBeDefined();
    expect(after.get("nats-surveyor")!.command).toEqual(["--config", "/etc/nats-infra/surveyor.yaml", "--jsz", "all"]);
  });

  test("two containers named from the prefix, on the stack's network, ports on 127.0.0.1 as configured, pinned images, memory limits", () => {
    const prometheus = plain(on.byName("nats-prometheus"));
    const grafana = plain(on.byName("nats-grafana"));
    expect(prometheus.name).toBe("nats-infra-prometheus");
    expect(grafana.name).toBe("nats-infra-grafana");
    expect(prometheus.ports).toEqual([{ internal: 9090, external: 19090, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(grafana.ports).toEqual([{ internal: 3000, external: 13000, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(prometheus.image).toBe(PROMETHEUS_IMAGE);
    expect(grafana.image).toBe(GRAFANA_IMAGE);
    expect(PROMETHEUS_IMAGE).toMatch(/:v\d+\.\d+\.\d+$/);
    expect(GRAFANA_IMAGE).toMatch(/:\d+\.\d+\.\d+$/);
    expect(plain(on.byName("nats-prometheus-image")).name).toBe(PROMETHEUS_IMAGE);
    expect(plain(on.byName("nats-grafana-image")).name).toBe(GRAFANA_IMAGE);
    for (const c of [prometheus, grafana]) {
      expect(c.memory).toBeGreaterThan(0);
      // As the provider reads it back: no diff on the next preview.
      expect(c.memorySwap).toBe(c.memory);
      expect(c.networksAdvanced).toEqual(plain(on.byName("nats-surveyor")).networksAdvanced);
      expect(c.restart).toBe("unless-stopped");
    }
    for (const name of ["nats-prometheus", "nats-grafana"]) {
      expect(on.byName(name).options.deleteBeforeReplace).toBe(true);
      expect(on.byName(name).options.parent).toMatch(/nats-infra:index:NatsCluster::nats$/);
    }
    // Prometheus after what it scrapes, Grafana after Prometheus.
    expect(on.byName("nats-prometheus").options.dependencies.some((urn) => urn.endsWith("::nats-surveyor"))).toBe(true);
    expect(on.byName("nats-grafana").options.dependencies.some((urn) => urn.endsWith("::nats-prometheus"))).toBe(true);
  });

  test("ports follow docker.bindAddress, images follow their overrides", async () => {
    const run = await runProgram({
      ...DEV,
      docker: { bindAddress: "127.0.0.2" },
      monitoring: { prometheus: { enabled: true, image: "registry.example/prometheus:v2.42.0" }, grafana: { enabled: true, image: "registry.example/grafana:12.3.0" } },
    });
    expect(plain(run.byName("nats-prometheus")).ports[0]).toMatchObject({ ip: "127.0.0.2", external: 9090 });
    expect(plain(run.byName("nats-grafana")).ports[0]).toMatchObject({ ip: "127.0.0.2", external: 3000 });
    expect(plain(run.byName("nats-prometheus")).image).toBe("registry.example/prometheus:v2.42.0");
    expect(plain(run.byName("nats-grafana")).image).toBe("registry.example/grafana:12.3.0");
    expect(run.exports.monitoring).toEqual({ prometheus: "http://127.0.0.2:9090", grafana: "http://127.0.0.2:3000" });
  });

  test("Prometheus gets the generated prometheus.yml (Surveyor on the network, the rules file) and rules, and its flags", () => {
    const { config } = parseStackConfig({ ...DEV, monitoring: ON });
    const prometheus = plain(on.byName("nats-prometheus"));
    const files = uploadsOf(on.byName("nats-prometheus"));
    expect([...files.keys()]).toEqual([PROMETHEUS_PATHS.config, PROMETHEUS_PATHS.rules]);
    const yml = parse(files.get(PROMETHEUS_PATHS.config)!);
    expect(yml.scrape_configs).toEqual([
      { job_name: "nats-surveyor", static_configs: [{ targets: ["nats-infra-surveyor:7777"] }] },
      { job_name: "nats-auth-events", static_configs: [{ targets: ["nats-infra-auth-events:7778"] }] },
    ]);
    expect(yml.rule_files).toEqual([PROMETHEUS_PATHS.rules]);
    expect(files.get(PROMETHEUS_PATHS.rules)).toBe(renderAlertRules(config, monitoringSchema.parse(ON)));
    expect(prometheus.command).toEqual([
      `--config.file=${PROMETHEUS_PATHS.config}`,
      `--storage.tsdb.path=${PROMETHEUS_PATHS.data}`,
      "--storage.tsdb.retention.time=15d",
      "--web.listen-address=0.0.0.0:9090",
    ]);
    // Nothing secret in it, so preview shows a rule change line by line.
    expect(isSecretWrapper(on.byName("nats-prometheus").inputs.uploads)).toBe(false);
  });

  test("Grafana gets the datasource, the dashboard provider and every generated dashboard where it reads them", () => {
    const { config } = parseStackConfig({ ...DEV, monitoring: ON });
    const files = uploadsOf(on.byName("nats-grafana"));
    const datasources = parse(files.get(GRAFANA_PATHS.datasources)!);
    expect(datasources.datasources[0]).toMatchObject({ uid: "nats-infra-prometheus", url: "http://nats-infra-prometheus:9090" });
    const providers = parse(files.get(GRAFANA_PATHS.dashboardProviders)!);
    expect(providers.providers[0].options.path).toBe(GRAFANA_PATHS.dashboards);
    const dashboards = renderDashboards(config);
    expect(Object.keys(dashboards).length).toBeGreaterThanOrEqual(2);
    for (const [file, json] of Object.entries(dashboards)) expect(files.get(`${GRAFANA_PATHS.dashboards}/${file}`), file).toBe(json);
    // Outside the data volume, so a dashboard no longer generated goes with the old container.
    const dataPath = plain(on.byName("nats-grafana")).volumes[0].containerPath;
    expect(GRAFANA_PATHS.dashboards.startsWith(`${dataPath}/`)).toBe(false);
  });

  test("metric history and Grafana's database live on named volumes that destroy and replacement keep", () => {
    for (const [volume, container, path] of [
      ["nats-prometheus-data", "nats-prometheus", "/prometheus"],
      ["nats-grafana-data", "nats-grafana", "/var/lib/grafana"],
    ]) {
      const v = on.byName(volume);
      expect(v.options.retainOnDelete, volume).toBe(true);
      expect(plain(v).labels).toContainEqual({ label: "nats-infra.retain-on-delete", value: "true" });
      expect(plain(on.byName(container)).volumes).toEqual([{ volumeName: plain(v).name, containerPath: path }]);
    }
    expect(plain(on.byName("nats-prometheus-data")).name).toBe("nats-infra-prometheus-data");
    expect(plain(on.byName("nats-grafana-data")).name).toBe("nats-infra-grafana-data");
    expect(on.ofType(VOLUME)).toHaveLength(3);
  });
});

describe("Grafana's admin password", () => {
  test("generated like every other password, delivered in a secret file, never in the environment or a command line", async () => {
    const password = on.byName("nats-grafana-admin-password");
    expect(password.type).toBe(PASSWORD);
    expect(plain(password)).toMatchObject({ length: 32, special: true, overrideSpecial: "-_" });
    const value = unwrapSecrets(password.state.result) as string;
    const grafana = on.byName("nats-grafana");
    expect(isSecretWrapper(grafana.inputs.uploads)).toBe(true);
    expect(uploadsOf(grafana).get(GRAFANA_ADMIN_PASSWORD_FILE)).toBe(value);
    expect(plain(grafana).envs).toContain(`GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_ADMIN_PASSWORD_FILE}`);
    expect(plain(grafana).envs.join("\n")).not.toContain(value);
    expect(plain(grafana).command).toBeUndefined();
    const leaks = on.resources.flatMap((r) => plaintextOccurrences(r.inputs, on.passwords).map((p) => `${r.name}: ${p}`));
    expect(leaks).toEqual([]);
  });

  test("the outputs: endpoints in plain text, the admin credential secret", async () => {
    expect(on.exports.monitoring).toEqual({ prometheus: "http://127.0.0.1:19090", grafana: "http://127.0.0.1:13000" });
    const admin = on.exports.grafanaAdmin as pulumi.Output<{ user: string; password: string; url: string }>;
    expect(await pulumi.isSecret(admin)).toBe(true);
    const value = await outputValue(admin);
    expect(value).toEqual({ user: "admin", password: unwrapSecrets(on.byName("nats-grafana-admin-password").state.result), url: "http://127.0.0.1:13000" });
    expect(JSON.stringify(on.exports.monitoring)).not.toContain(value.password);
  });

  test("Prometheus alone: no Grafana, no password, no admin output", async () => {
    const run = await runProgram({ ...DEV, monitoring: { prometheus: { enabled: true } } });
    expect(run.resources.map((r) => r.name).filter((n) => n.includes("grafana"))).toEqual([]);
    expect(run.exports.grafanaAdmin).toBeUndefined();
    expect(run.exports.monitoring).toEqual({ prometheus: "http://127.0.0.1:9090" });
  });
});

test("in a 3-node cluster Prometheus still scrapes the one Surveyor, beside node 0", async () => {
  const run = await runProgram({ ...DEV, cluster: { nodes: 3 }, monitoring: ON });
  const files = uploadsOf(run.byName("nats-prometheus"));
  expect(parse(files.get(PROMETHEUS_PATHS.config)!).scrape_configs[0].static_configs[0].targets).toEqual(["nats-infra-surveyor:7777"]);
  expect(files.get(PROMETHEUS_PATHS.rules)).toContain("NatsRouteDown");
  expect(run.ofType(CONTAINER).map((c) => c.name)).toEqual(expect.arrayContaining(["nats-prometheus", "nats-grafana"]));
});

describe("the exporter of refused logins", () => {
  test("a container of the stack's Surveyor image running the uploaded binary as _auth_events, on the stack's network, no published port, memory limit, after Surveyor", () => {
    const c = plain(on.byName("nats-auth-events"));
    expect(c.name).toBe("nats-infra-auth-events");
    expect(c.image).toBe(SURVEYOR.image);
    expect(c.envs).toEqual(["GOMEMLIMIT=51MiB"]);
    expect(c.entrypoints).toEqual([AUTH_EVENTS_PATHS.binary]);
    expect(c.ports).toBeUndefined();
    expect(c.networksAdvanced).toEqual(plain(on.byName("nats-surveyor")).networksAdvanced);
    expect(c.memory).toBe(64);
    expect(c.memorySwap).toBe(c.memory);
    expect(c.restart).toBe("unless-stopped");
    expect(c.labels).toContainEqual({ label: "nats-infra.role", value: "auth-events" });
    expect(on.byName("nats-auth-events").options.deleteBeforeReplace).toBe(true);
    expect(on.byName("nats-auth-events").options.dependencies.some((urn) => urn.endsWith("::nats-surveyor"))).toBe(true);
    const flag = (name: string) => c.command[c.command.indexOf(name) + 1];
    expect(flag("--servers")).toBe("nats://nats:4222");
    expect(flag("--user")).toBe(AUTH_EVENTS_USER);
    expect(flag("--password-file")).toBe(AUTH_EVENTS_PATHS.password);
    expect(flag("--listen")).toBe(":7778");
    expect(flag("--users").split(",")).toEqual(expect.arrayContaining(["user-service", "notification-service", "_surveyor", AUTH_EVENTS_USER]));
    expect(flag("--server-names")).toBe("nats-0");
    // The binary from .tools/bin, executable, replaced when a new build differs.
    const binary = (c.uploads as { file: string; source?: string; sourceHash?: string; executable?: boolean }[]).find((u) => u.file === AUTH_EVENTS_PATHS.binary)!;
    expect(binary).toMatchObject({ source: AUTH_EVENTS_BINARY, executable: true, sourceHash: authEventsBinary().sourceHash });
  });

  test("its password: generated like the others, only in a secret uploaded file, never in the environment or the command line", () => {
    const value = unwrapSecrets(on.byName("nats-password-_auth_events").state.result) as string;
    const container = on.byName("nats-auth-events");
    expect(isSecretWrapper(container.inputs.uploads)).toBe(true);
    expect(uploadsOf(container).get(AUTH_EVENTS_PATHS.password)).toBe(value);
    expect(JSON.stringify(plain(container).command)).not.toContain(value);
    expect(JSON.stringify(plain(container).envs)).not.toContain(value);
  });

  test("its user may read the refused-login events and its inbox, and publish nothing", () => {
    const permissions = JSON.parse(plain(on.byName("nats-config")).environment.NATS_PERMISSIONS__AUTH_EVENTS);
    expect(permissions).toMatchObject({ user: AUTH_EVENTS_USER, account: "SYS", publish: [], subscribe: [AUTH_ERROR_SUBJECT, "_INBOX__auth_events.>"] });
  });

  test("a 3-node cluster: one exporter beside node 0, every node's URL and name", async () => {
    const run = await runProgram({ ...DEV, cluster: { nodes: 3 }, monitoring: ON });
    const c = plain(run.byName("nats-auth-events"));
    expect(c.command[c.command.indexOf("--server-names") + 1]).toBe("nats-0,nats-1,nats-2");
    expect(c.command[c.command.indexOf("--servers") + 1].split(",")).toHaveLength(3);
    expect(run.ofType(CONTAINER).filter((r) => r.name.endsWith("auth-events"))).toHaveLength(1);
  });

  test("`nats-infra clean` finds it: the name and role label ops/clean.ts looks for are the container's, as for Prometheus and Grafana", () => {
    const { config } = parseStackConfig({ ...DEV, monitoring: ON });
    for (const name of ["nats-auth-events", "nats-prometheus", "nats-grafana"]) {
      const c = plain(on.byName(name));
      const role = (c.labels as { label: string; value: string }[]).find((l) => l.label === "nats-infra.role")!.value;
      expect(sidecarsOf(config), name).toContainEqual({ name: c.name, role });
    }
  });

  test("without the built binary the program fails, saying that `npm run tools` builds it", () => {
    expect(() => authEventsBinary("/nonexistent/nats-infra-auth-events")).toThrow(/npm run tools/);
  });
});
