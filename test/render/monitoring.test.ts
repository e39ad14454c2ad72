// Monitoring config and renderers, pure: defaults and refusals of `monitoring`, the rules
// generated from a stack (one per node, account, stream, consumer; names quoted, never read as
// PromQL or templates), prometheus.yml with the Surveyor target as given, Grafana's provisioning
// files, and the dashboards built with the Grafana SDK (a new stream is a new row).
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { monitoringProblems, monitoringSchema, promDurationMs } from "../../config/monitoring";
import { alertRuleGroups, generatedRules, renderAlertRules } from "../../render/monitoring/alerts";
import { generateDashboards, renderDashboards } from "../../render/monitoring/dashboards";
import { PROMETHEUS_DATASOURCE_UID, renderGrafanaDashboardProviders, renderGrafanaDatasources } from "../../render/monitoring/grafanaProvisioning";
import { exactAlternatives, promString, selector } from "../../render/monitoring/promql";
import { dockerAuthEventsTarget, dockerSurveyorTarget, prometheusArgs, renderPrometheusConfig } from "../../render/monitoring/prometheusConfig";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const dev = readStackFile(DEV_STACK_FIXTURE);
const devConfig = parseStackConfig(dev).config;
const defaults = monitoringSchema.parse({});

describe("monitoring config", () => {
  test("off by default, with a default for every threshold", () => {
    expect(defaults.prometheus).toMatchObject({ enabled: false, port: 9090, retention: "15d", scrapeInterval: "15s", scrapeTimeout: "10s" });
    expect(defaults.grafana).toMatchObject({ enabled: false, port: 3000 });
    expect(defaults.alerts).toEqual({
      nodeNotSurveyed: { for: "1m" },
      surveyorDown: { for: "1m" },
      storage: { share: 0.8, for: "5m" },
      consumerPending: { pending: 1000, for: "5m" },
      consumerAckPending: { share: 0.9, for: "5m" },
      consumerStalled: { after: "10m", for: "0s" },
      slowConsumers: { increase: 1, window: "5m", for: "0s" },
      connections: { share: 0.8, for: "5m" },
      routeDown: { routesPerPeer: 4, for: "1m" },
      authErrors: { increase: 5, window: "5m", for: "0s" },
      authEventsExporterDown: { for: "2m" },
    });
  });

  test.each([
    [{ prometheus: { retention: "1.5d" } }, "Prometheus duration"],
    [{ prometheus: { retention: "" } }, "cannot be empty"],
    [{ prometheus: { scrapeInterval: "5s", scrapeTimeout: "10s" } }, "cannot be longer than scrapeInterval"],
    [{ prometheus: { scrapeTimeout: "2s" } }, "at least 5s"],
    [{ grafana: { enabled: true } }, "set monitoring.prometheus.enabled"],
    [{ alerts: { storage: { share: 1.5 } } }, "at most 1"],
    [{ alerts: { storage: { share: 0 } } }, "above 0"],
    [{ alerts: { nodeNotSurveyed: { after: "1m" } } }, "after"],
    [{ prometheus: { image: "bad image" } }, "Docker image reference"],
    [{ extra: true }, "extra"],
  ])("refuses %j", (input, message) => {
    const result = monitoringSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error!.issues)).toContain(message);
  });

  test("Prometheus durations in ms; Prometheus needs Surveyor", () => {
    expect(promDurationMs("1h30m")).toBe(5_400_000);
    expect(promDurationMs("15d")).toBe(15 * 86_400_000);
    const on = monitoringSchema.parse({ prometheus: { enabled: true } });
    expect(monitoringProblems(false, on)).toEqual([{ path: ["monitoring", "prometheus", "enabled"], message: expect.stringContaining("docker.surveyor.enabled") }]);
    expect(monitoringProblems(true, on)).toEqual([]);
    // A port another endpoint publishes is refused at the monitoring key, naming the other.
    expect(() => parseStackConfig({ services: [{ name: "a" }], monitoring: { prometheus: { enabled: true, port: 7777 }, grafana: { enabled: true, port: 7777 } } })).toThrow(
      /nats-infra:monitoring\.prometheus\.port: 7777 is already docker\.surveyor\.port[\s\S]*nats-infra:monitoring\.grafana\.port: 7777 is already docker\.surveyor\.port/,
    );
    // And through the stack config, at its path, with no stack trace.
    expect(() => parseStackConfig({ services: [{ name: "a" }], docker: { surveyor: { enabled: false } }, monitoring: { prometheus: { enabled: true } } })).toThrow(
      /nats-infra:monitoring\.prometheus\.enabled: Prometheus scrapes Surveyor/,
    );
  });
});

describe("alert rules", () => {
  test("the dev stack: node, Surveyor, storage (account and server, file and memory), consumer and per-node rules; no route rule on one node", () => {
    const names = generatedRules(devConfig, defaults).map((r) => `${r.rule.alert} ${Object.values(r.resultLabels).join("/")}`);
    expect(names).toEqual([
      "NatsNodeNotSurveyed nats-surveyor/nats-0",
      "NatsSurveyorDown nats-surveyor",
      "NatsAccountStorageHigh APP",
      "NatsServerStorageHigh nats-0",
      "NatsAccountStorageHigh APP",
      "NatsServerStorageHigh nats-0",
      "NatsConsumerPending APP/EVENTS/notification-service",
      "NatsConsumerAckPending APP/EVENTS/notification-service",
      "NatsConsumerStalled APP/EVENTS/notification-service",
      "NatsSlowConsumers nats-0",
      "NatsConnectionsHigh nats-0",
      "NatsAuthErrorsRising nats-0",
      "NatsAuthEventsExporterDown nats-auth-events",
    ]);
  });

  test("refused logins: per node and user from the exporter's job; the description names the node and, by a template of the user label, the user", () => {
    const monitoring = monitoringSchema.parse({ alerts: { authErrors: { increase: 3, window: "2m" } } });
    const { config } = parseStackConfig({ ...dev, cluster: { nodes: 2 } });
    const rules = generatedRules(config, monitoring).filter((r) => r.rule.alert === "NatsAuthErrorsRising");
    expect(rules.map((r) => r.rule.expr)).toEqual(
      ["nats-0", "nats-1"].map((n) => `max by (server_name, user) (increase(nats_infra_auth_errors_total{job="nats-auth-events", server_name="${n}"}[2m])) >= 3`),
    );
    expect(rules[0].rule.labels).toEqual({ severity: "warning", stack: "nats-infra", server_name: "nats-0" });
    expect(rules[0].rule.annotations.description).toBe(
      'NATS node nats-0 of stack nats-infra refused at least 3 logins within 2m for {{ if eq $labels.user "other" }}user names the stack does not have{{ else }}its user {{ $labels.user }}{{ end }}: a wrong or outdated password (a client not given its rotated password retries every few seconds) or someone guessing.',
    );
    // Stack text still never opens a template.
    expect(() => generatedRules({ ...config, docker: { ...config.docker, namePrefix: "a{{b" } }, monitoring)).toThrow(/template/);
  });

  test("the exporter itself: one rule per stack, on its scrape failing or its not being connected, `for` from config, one series whatever the cause", () => {
    const monitoring = monitoringSchema.parse({ alerts: { authEventsExporterDown: { for: "5m" } } });
    const { config } = parseStackConfig({ ...dev, cluster: { nodes: 3 } });
    const rules = generatedRules(config, monitoring).filter((r) => r.rule.alert === "NatsAuthEventsExporterDown");
    expect(rules.map((r) => r.rule.expr)).toEqual(['max by (job) (up{job="nats-auth-events"}) == 0 or max by (job) (nats_infra_auth_events_connected{job="nats-auth-events"}) == 0']);
    expect(rules[0].rule).toMatchObject({ for: "5m", labels: { severity: "warning", stack: "nats-infra" } });
    expect(rules[0].resultLabels).toEqual({ job: "nats-auth-events" });
    expect(rules[0].rule.annotations.description).toContain("NatsAuthErrorsRising cannot fire");
    expect(() => monitoringSchema.parse({ alerts: { authEventsExporterDown: { for: "2 minutes" } } })).toThrow(/Prometheus duration/);
  });

  test("descriptions name the stack's node, stream, consumer and the service that reads it; thresholds come from config", () => {
    const monitoring = monitoringSchema.parse({ alerts: { consumerPending: { pending: 42 }, connections: { share: 0.5 } } });
    const rules = generatedRules({ ...devConfig, docker: { ...devConfig.docker, namePrefix: "shop" } }, monitoring).map((r) => r.rule);
    const pending = rules.find((r) => r.alert === "NatsConsumerPending")!;
    expect(pending.expr).toBe('max by (account, stream, consumer_name) (nats_consumer_num_pending{job="nats-surveyor", account="APP", stream="EVENTS", consumer_name="notification-service"}) > 42');
    expect(pending.annotations.description).toBe("Consumer notification-service of stream EVENTS (account APP, stack shop), read by notification-service, has more than 42 messages not yet delivered.");
    expect(pending.labels).toEqual({ severity: "warning", stack: "shop", account: "APP", stream: "EVENTS", consumer_name: "notification-service" });
    const connections = rules.find((r) => r.alert === "NatsConnectionsHigh")!;
    expect(connections.expr).toContain("> 5000");
    expect(connections.annotations.description).toContain("NATS node nats-0 of stack shop");
    const node = rules.find((r) => r.alert === "NatsNodeNotSurveyed")!;
    expect(node.annotations.description).toContain("fewer than the 1 declared node: nats-0 is missing");
  });

  test("a cluster gets rules per node, routes included; a new stream with maxBytes and consumers gets its own", () => {
    const { config } = parseStackConfig({
      ...dev,
      cluster: { nodes: 3 },
      accounts: [{ name: "APP", jetstream: { maxFile: "2GB" } }],
      streams: [...(dev.streams as object[]), { name: "AUDIT", subjects: ["audit.>"], maxBytes: "1GB", consumers: [{ name: "auditor", maxAckPending: -1 }] }],
    });
    const rules = generatedRules(config, defaults);
    const of = (alert: string) => rules.filter((r) => r.rule.alert === alert).map((r) => r.rule);
    expect(of("NatsNodeNotSurveyed").map((r) => r.labels.server_name)).toEqual(["nats-0", "nats-1", "nats-2"]);
    expect(of("NatsRouteDown").map((r) => r.expr)).toEqual(["nats-0", "nats-1", "nats-2"].map((n) => `max by (server_name) (nats_core_route_count{job="nats-surveyor", server_name="${n}"}) < 8`));
    expect(of("NatsRouteDown")[0].annotations.description).toContain("(4 to each of nats-1, nats-2)");
    expect(of("NatsStreamStorageHigh").map((r) => [r.labels.stream, r.expr.split(" > ")[1]])).toEqual([["AUDIT", String(Math.floor(0.8 * 1024 ** 3))]]);
    expect(of("NatsAccountStorageHigh")[0].expr).toContain(`> ${Math.floor(0.8 * 2 * 1024 ** 3)}`);
    expect(of("NatsAccountStorageHigh")[0].annotations.description).toContain("(2GB)");
    // maxAckPending -1: no limit, so no ack-pending rule for auditor; pending and stalled rules still.
    expect(of("NatsConsumerAckPending").map((r) => r.labels.consumer_name)).toEqual(["notification-service"]);
    expect(of("NatsConsumerPending").map((r) => r.labels.consumer_name)).toEqual(["notification-service", "auditor"]);
  });

  test("no JetStream rules when JetStream is off; none for a stream or consumer marked for deletion; none for an account without JetStream", () => {
    const off = parseStackConfig({ ...dev, services: [{ name: "a" }], streams: [], jetstream: { enabled: false } }).config;
    expect(generatedRules(off, defaults).map((r) => r.rule.alert)).toEqual(["NatsNodeNotSurveyed", "NatsSurveyorDown", "NatsSlowConsumers", "NatsConnectionsHigh", "NatsAuthErrorsRising", "NatsAuthEventsExporterDown"]);
    const services = (dev.services as { name: string }[]).filter((s) => s.name !== "notification-service");
    const deleting = parseStackConfig({ ...dev, services, streams: [{ name: "EVENTS", subjects: ["events.*"], allowDelete: true, consumers: [{ name: "notification-service", delete: true }] }] }).config;
    expect(generatedRules(deleting, defaults).filter((r) => r.rule.alert.startsWith("NatsConsumer"))).toEqual([]);
    const accounts = parseStackConfig(readStackFile(DEV_STACK_FIXTURE.replace("Pulumi.dev.yaml", "Pulumi.accounts.yaml"))).config;
    const storageAccounts = new Set(generatedRules(accounts, defaults).filter((r) => r.rule.alert === "NatsAccountStorageHigh").map((r) => r.rule.labels.account));
    expect([...storageAccounts]).toEqual(["APP", "BILLING"]);
  });

  test("the file is YAML of the rule objects: one group named after the stack", () => {
    const text = renderAlertRules(devConfig, defaults);
    expect(parse(text)).toEqual(alertRuleGroups(devConfig, defaults));
    expect(parse(text).groups[0].name).toBe("nats-infra-nats-infra");
  });

  test("names reach PromQL only as quoted literals and regex alternatives escaped", () => {
    expect(promString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(selector("m", { stream: 'x"} or vector(1) #' })).toBe('m{job="nats-surveyor", stream="x\\"} or vector(1) #"}');
    expect(exactAlternatives(["a.b", "c|d", "e"])).toBe("a\\.b|c\\|d|e");
  });
});

describe("prometheus.yml and Grafana provisioning", () => {
  test("scrapes Surveyor at the target given, loads the rules file, labels the stack; retention as a flag", () => {
    const monitoring = monitoringSchema.parse({ prometheus: { retention: "30d", scrapeInterval: "30s" } });
    const docker = parse(renderPrometheusConfig(devConfig, monitoring, { surveyorTarget: dockerSurveyorTarget(devConfig), rulesFile: "/etc/prometheus/rules/nats-infra.rules.yml" }));
    expect(docker).toEqual({
      global: { scrape_interval: "30s", scrape_timeout: "10s", evaluation_interval: "15s", external_labels: { stack: "nats-infra" } },
      rule_files: ["/etc/prometheus/rules/nats-infra.rules.yml"],
      scrape_configs: [{ job_name: "nats-surveyor", static_configs: [{ targets: ["nats-infra-surveyor:7777"] }] }],
    });
    const local = parse(renderPrometheusConfig(devConfig, monitoring, { surveyorTarget: "127.0.0.1:17777", rulesFile: "rules.yml" }));
    expect(local.scrape_configs[0].static_configs[0].targets).toEqual(["127.0.0.1:17777"]);
    // The exporter of refused logins is a second job where it runs (the deployment), none elsewhere.
    const withExporter = parse(renderPrometheusConfig(devConfig, monitoring, { surveyorTarget: dockerSurveyorTarget(devConfig), authEventsTarget: dockerAuthEventsTarget(devConfig), rulesFile: "rules.yml" }));
    expect(withExporter.scrape_configs[1]).toEqual({ job_name: "nats-auth-events", static_configs: [{ targets: ["nats-infra-auth-events:7778"] }] });
    expect(prometheusArgs(monitoring)).toEqual(["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=30d", "--web.listen-address=0.0.0.0:9090"]);
  });

  test("Grafana gets the Prometheus datasource by uid and a read-only file provider in the stack's folder", () => {
    expect(parse(renderGrafanaDatasources("http://nats-infra-prometheus:9090"))).toEqual({
      apiVersion: 1,
      datasources: [{ name: "Prometheus", uid: PROMETHEUS_DATASOURCE_UID, type: "prometheus", access: "proxy", url: "http://nats-infra-prometheus:9090", isDefault: true, editable: false }],
    });
    const providers = parse(renderGrafanaDashboardProviders(devConfig));
    expect(providers.providers[0]).toMatchObject({ folder: "NATS (nats-infra)", type: "file", allowUiUpdates: false, options: { path: "/etc/grafana/dashboards/nats-infra" } });
  });
});

describe("dashboards", () => {
  const targets = (json: unknown): { datasource?: { uid?: string }; expr: string }[] =>
    ((json as { panels: { targets?: never[] }[] }).panels ?? []).flatMap((p) => p.targets ?? []);

  test("one server: overview and JetStream, no cluster view; every query on the provisioned datasource and the Surveyor job", () => {
    const dashboards = generateDashboards(devConfig);
    expect(dashboards.map((d) => [d.file, d.uid, d.title])).toEqual([
      ["nats-overview.json", "nats-infra-nats-infra-overview", "NATS overview (nats-infra)"],
      ["nats-jetstream.json", "nats-infra-nats-infra-jetstream", "NATS JetStream (nats-infra)"],
    ]);
    for (const dashboard of dashboards) {
      for (const target of targets(dashboard.json)) {
        expect(target.datasource?.uid).toBe(PROMETHEUS_DATASOURCE_UID);
        expect(target.expr).toContain('job="nats-surveyor"');
      }
    }
  });

  test("a cluster adds the cluster view; the node variable lists the stack's nodes, All being exactly them", () => {
    const { config } = parseStackConfig({ ...dev, cluster: { nodes: 3 } });
    const dashboards = generateDashboards(config);
    expect(dashboards.map((d) => d.file)).toEqual(["nats-overview.json", "nats-jetstream.json", "nats-cluster.json"]);
    const variable = dashboards[0].json.templating!.list![0] as { name: string; query: string; allValue: string; multi: boolean; includeAll: boolean };
    expect(variable).toMatchObject({ name: "server", query: "nats-0,nats-1,nats-2", allValue: "nats-0|nats-1|nats-2", multi: true, includeAll: true });
  });

  test("a new stream is a new row with its consumers' panels, without an edit of the dashboards code", () => {
    const before = renderDashboards(devConfig)["nats-jetstream.json"];
    const { config } = parseStackConfig({ ...dev, streams: [...(dev.streams as object[]), { name: "AUDIT", subjects: ["audit.>"], consumers: [{ name: "auditor" }] }] });
    const after = JSON.parse(renderDashboards(config)["nats-jetstream.json"]);
    const titles = after.panels.map((p: { title: string }) => p.title);
    expect(titles).toEqual(expect.arrayContaining(["Stream AUDIT (account APP)", "AUDIT: messages", "AUDIT: bytes", "AUDIT / auditor: backlog", "AUDIT / auditor: acknowledged per second"]));
    expect(before).not.toContain("AUDIT");
    expect(targets(after).some((t) => t.expr.includes('stream="AUDIT", consumer_name="auditor"'))).toBe(true);
  });

  test("JetStream off: no JetStream dashboard", () => {
    const { config } = parseStackConfig({ ...dev, services: [{ name: "a" }], streams: [], jetstream: { enabled: false } });
    expect(generateDashboards(config).map((d) => d.file)).toEqual(["nats-overview.json"]);
  });
});
