// The Grafana dashboards of a stack, built with @grafana/grafana-foundation-sdk from its config:
// an overview (nodes, connections, messages and bytes per account), JetStream (storage, then one
// row per declared stream with a panel per declared consumer) and, with several nodes, a cluster
// view. Generated, never hand-edited: a new stream or consumer in the config is a new row or panel
// at the next deploy. Every query selects the Surveyor job and the stack's own names (promql.ts).
import { exactAlternatives, selector } from "./promql";
import { PROMETHEUS_DATASOURCE_UID } from "./grafanaProvisioning";
import { common, dashboard, prometheus, stat, timeseries, type Dashboard } from "./grafanaSdk";
import { stackFacts, type DeclaredStream, type StackFacts } from "./stackFacts";
import type { StackConfig } from "../../config/schema";

const DATASOURCE = { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID };
/** The template variable of the node panels: every server of the stack, or some. */
export const SERVER_VARIABLE = "server";
const onServers = { server_name: { regex: `$${SERVER_VARIABLE}` } };

export interface GeneratedDashboard {
  /** File name under Grafana's dashboards directory. */
  file: string;
  uid: string;
  title: string;
  json: Dashboard.Dashboard;
}

type Unit = "short" | "bytes" | "Bps" | "ops" | "percent" | "none";

function query(expr: string, legend: string) {
  return new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend);
}

function graph(title: string, unit: Unit, targets: { expr: string; legend: string }[], description?: string) {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .height(8)
    .span(12)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
  if (description) panel.description(description);
  for (const target of targets) panel.withTarget(query(target.expr, target.legend));
  return panel;
}

function single(title: string, expr: string, description: string) {
  return new stat.PanelBuilder().title(title).description(description).datasource(DATASOURCE).height(4).span(6).withTarget(query(expr, title));
}

function serverVariable(facts: StackFacts) {
  return new dashboard.CustomVariableBuilder(SERVER_VARIABLE)
    .label("Node")
    .values(facts.servers.join(","))
    .multi(true)
    .includeAll(true)
    // "All" means the stack's own nodes, not any server_name Prometheus holds.
    .allValue(exactAlternatives(facts.servers));
}

function base(facts: StackFacts, name: string, title: string) {
  return new dashboard.DashboardBuilder(`NATS ${title} (${facts.stack})`)
    .uid(`nats-infra-${facts.stack}-${name}`.slice(0, 40))
    .tags(["nats-infra", facts.stack, "generated"])
    .editable()
    .readonly()
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .timezone("browser");
}

const rate = (metric: string, matchers: Parameters<typeof selector>[1]) => `rate(${selector(metric, matchers)}[$__rate_interval])`;

function overview(facts: StackFacts) {
  const accounts = { account: { regex: exactAlternatives(facts.accounts) } };
  const perAccount = (title: string, unit: Unit, metric: string) => graph(title, unit, [{ expr: `sum by (account) (${rate(metric, accounts)})`, legend: "{{account}}" }]);
  return base(facts, "overview", "overview")
    .withVariable(serverVariable(facts))
    .withRow(new dashboard.RowBuilder("Nodes"))
    .withPanel(single("Nodes surveyed", `max(${selector("nats_survey_surveyed_count")})`, `Servers that answered Surveyor's last survey; the stack declares ${facts.servers.length}.`))
    .withPanel(single("Nodes declared", `max(${selector("nats_survey_expected_count")})`, "Servers Surveyor waits for (the stack's node count)."))
    .withPanel(single("Surveyor up", `max(${selector("up")})`, "1 while Prometheus scrapes Surveyor."))
    .withPanel(single("NATS reachable", `max(${selector("nats_up")})`, "1 while Surveyor reaches NATS."))
    .withPanel(graph("Connections per node", "short", [{ expr: `sum by (server_name) (${selector("nats_core_connection_count", onServers)})`, legend: "{{server_name}}" }], `server.maxConnections is ${facts.maxConnections}.`))
    .withPanel(graph("Slow consumers per node", "short", [{ expr: `sum by (server_name) (increase(${selector("nats_core_slow_consumer_count", onServers)}[$__rate_interval]))`, legend: "{{server_name}}" }]))
    .withPanel(graph("CPU per node", "percent", [{ expr: `max by (server_name) (${selector("nats_core_cpu_percentage", onServers)})`, legend: "{{server_name}}" }]))
    .withPanel(graph("Memory per node", "bytes", [{ expr: `max by (server_name) (${selector("nats_core_mem_bytes", onServers)})`, legend: "{{server_name}}" }]))
    .withRow(new dashboard.RowBuilder("Accounts"))
    .withPanel(graph("Connections per account", "short", [{ expr: `sum by (account) (${selector("nats_core_account_conn_count", accounts)})`, legend: "{{account}}" }]))
    .withPanel(graph("Subscriptions per account", "short", [{ expr: `sum by (account) (${selector("nats_core_account_sub_count", accounts)})`, legend: "{{account}}" }]))
    .withPanel(perAccount("Messages in per account", "ops", "nats_core_account_msgs_recv"))
    .withPanel(perAccount("Messages out per account", "ops", "nats_core_account_msgs_sent"))
    .withPanel(perAccount("Bytes in per account", "Bps", "nats_core_account_bytes_recv"))
    .withPanel(perAccount("Bytes out per account", "Bps", "nats_core_account_bytes_sent"));
}

function streamRow(builder: Dashboard.DashboardBuilder, stream: DeclaredStream): void {
  const own = { account: stream.account, stream: stream.stream };
  builder
    .withRow(new dashboard.RowBuilder(`Stream ${stream.stream} (account ${stream.account})`))
    .withPanel(graph(`${stream.stream}: messages`, "short", [{ expr: `max by (stream) (${selector("nats_stream_total_messages", own)})`, legend: "{{stream}}" }]))
    .withPanel(
      graph(
        `${stream.stream}: bytes`,
        "bytes",
        [{ expr: `max by (stream) (${selector("nats_stream_total_bytes", own)})`, legend: "{{stream}}" }],
        stream.maxBytes > 0 ? `maxBytes is ${stream.maxBytes} bytes.` : "No maxBytes of its own: the account's limit applies.",
      ),
    )
    .withPanel(graph(`${stream.stream}: messages stored per second`, "ops", [{ expr: `max by (stream) (rate(${selector("nats_stream_last_seq", own)}[$__rate_interval]))`, legend: "{{stream}}" }]));
  for (const consumer of stream.consumers) {
    const mine = { ...own, consumer_name: consumer.consumer };
    const by = (metric: string) => `max by (consumer_name) (${selector(metric, mine)})`;
    builder.withPanel(
      graph(
        `${stream.stream} / ${consumer.consumer}: backlog`,
        "short",
        [
          { expr: by("nats_consumer_num_pending"), legend: "pending" },
          { expr: by("nats_consumer_num_ack_pending"), legend: "ack pending" },
          { expr: by("nats_consumer_num_redelivered"), legend: "redelivered" },
        ],
        consumer.services.length ? `Read by ${consumer.services.join(", ")}.` : "No declared service consumes through it.",
      ),
    );
    builder.withPanel(graph(`${stream.stream} / ${consumer.consumer}: acknowledged per second`, "ops", [{ expr: `max by (consumer_name) (rate(${selector("nats_consumer_ack_floor_stream_seq", mine)}[$__rate_interval]))`, legend: "{{consumer_name}}" }]));
  }
}

function jetstream(facts: StackFacts) {
  const accounts = { account: { regex: exactAlternatives(facts.jetstreamAccounts.map((a) => a.account)) } };
  const builder = base(facts, "jetstream", "JetStream")
    .withVariable(serverVariable(facts))
    .withRow(new dashboard.RowBuilder("Storage"))
    .withPanel(graph("File storage per account", "bytes", [{ expr: `max by (account) (${selector("nats_core_account_jetstream_storage_used", accounts)})`, legend: "{{account}}" }]))
    .withPanel(graph("Memory storage per account", "bytes", [{ expr: `max by (account) (${selector("nats_core_account_jetstream_memory_used", accounts)})`, legend: "{{account}}" }]))
    .withPanel(graph("File store used per node", "bytes", [{ expr: `max by (server_name) (${selector("nats_core_jetstream_filestore_used_bytes", onServers)})`, legend: "{{server_name}}" }], `jetstream.maxFileStore is ${facts.jetstream.maxFileStore} bytes.`))
    .withPanel(graph("JetStream API errors per node", "ops", [{ expr: `sum by (server_name) (${rate("nats_core_jetstream_api_errors", onServers)})`, legend: "{{server_name}}" }]));
  for (const stream of facts.streams) streamRow(builder, stream);
  return builder;
}

function cluster(facts: StackFacts) {
  return base(facts, "cluster", "cluster")
    .withVariable(serverVariable(facts))
    .withPanel(single("Nodes surveyed", `max(${selector("nats_survey_surveyed_count")})`, `Of ${facts.servers.length} declared: ${facts.servers.join(", ")}.`))
    .withPanel(graph("Routes per node", "short", [{ expr: `max by (server_name) (${selector("nats_core_route_count", onServers)})`, legend: "{{server_name}}" }], "Routes to the other nodes (a pool per peer)."))
    .withPanel(graph("Stream leaders per node", "short", [{ expr: `max by (server_name) (${selector("nats_core_jetstream_server_total_stream_leaders", onServers)})`, legend: "{{server_name}}" }]))
    .withPanel(graph("Consumer leaders per node", "short", [{ expr: `max by (server_name) (${selector("nats_core_jetstream_server_total_consumer_leaders", onServers)})`, legend: "{{server_name}}" }]))
    .withPanel(graph("Messages in per node", "ops", [{ expr: `sum by (server_name) (${rate("nats_core_recv_msgs_count", onServers)})`, legend: "{{server_name}}" }]))
    .withPanel(graph("Server version per node", "none", [{ expr: `max by (server_name, server_version) (${selector("nats_core_info", onServers)})`, legend: "{{server_name}} {{server_version}}" }]));
}

export function generateDashboards(config: StackConfig): GeneratedDashboard[] {
  const facts = stackFacts(config);
  const builders = [
    { name: "overview", builder: overview(facts) },
    ...(facts.jetstream.enabled ? [{ name: "jetstream", builder: jetstream(facts) }] : []),
    ...(facts.clustered ? [{ name: "cluster", builder: cluster(facts) }] : []),
  ];
  return builders.map(({ name, builder }) => {
    const json = builder.build();
    return { file: `nats-${name}.json`, uid: json.uid!, title: json.title!, json };
  });
}

/** File name -> JSON text, for Grafana's dashboards directory. */
export function renderDashboards(config: StackConfig): Record<string, string> {
  return Object.fromEntries(generateDashboards(config).map((d) => [d.file, `${JSON.stringify(d.json, null, 2)}\n`]));
}
