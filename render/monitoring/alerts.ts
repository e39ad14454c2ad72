// The Prometheus alert rules of a stack, generated from its config: one rule per node, account,
// stream and consumer it declares, so each alert's description names the stack's own server,
// stream, consumer and the services that read it. Thresholds come from `monitoring.alerts`
// (config/monitoring.ts). The file is data serialised to YAML; names reach PromQL only as quoted
// literals (promql.ts) and the annotations only as plain text.
import { stringify } from "yaml";
import { AUTH_EVENTS_JOB, SURVEYOR_JOB, type MonitoringConfig } from "../../config/monitoring";
import type { StackConfig } from "../../config/schema";
import { formatBytes } from "./format";
import { maxBy, promNumber, selector } from "./promql";
import { declaredConsumers, stackFacts, type StackFacts } from "./stackFacts";

export type Severity = "critical" | "warning";

export interface AlertRule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: { severity: Severity; stack: string } & Record<string, string>;
  annotations: { summary: string; description: string };
}

/** A rule and the labels its expression's result carries (what a firing alert adds to `labels`). */
export interface GeneratedRule {
  rule: AlertRule;
  resultLabels: Record<string, string>;
}

export const ALERT_NAMES = [
  "NatsNodeNotSurveyed",
  "NatsSurveyorDown",
  "NatsAccountStorageHigh",
  "NatsServerStorageHigh",
  "NatsStreamStorageHigh",
  "NatsConsumerPending",
  "NatsConsumerAckPending",
  "NatsConsumerStalled",
  "NatsSlowConsumers",
  "NatsConnectionsHigh",
  "NatsRouteDown",
  "NatsAuthErrorsRising",
  "NatsAuthEventsExporterDown",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** Annotations are Go templates: text from the stack must never open one. */
function plain(text: string): string {
  if (text.includes("{{") || text.includes("}}")) throw new Error(`alert text would be read as a template: ${text}`);
  return text;
}

const withoutJob = ({ job: _job, ...labels }: Record<string, string>) => labels;

const percent = (share: number) => `${promNumber(share * 100)} %`;

export function generatedRules(config: StackConfig, monitoring: MonitoringConfig): GeneratedRule[] {
  const facts = stackFacts(config);
  const a = monitoring.alerts;
  const rules: GeneratedRule[] = [];
  const add = (alert: AlertName, severity: Severity, expr: string, forDuration: string, resultLabels: Record<string, string>, summary: string, description: string, extra: Record<string, string> = {}) =>
    rules.push({
      // The subject's labels are the rule's own too: rules of one name stay distinct (promtool's
      // lint refuses duplicates), and an alert keeps them whatever its expression returns.
      rule: { alert, expr, for: forDuration, labels: { severity, stack: facts.stack, ...withoutJob(resultLabels), ...extra }, annotations: { summary: plain(summary), description: plain(description) } },
      resultLabels,
    });
  const job = { job: SURVEYOR_JOB };
  const surveyorUp = `max(${selector("up")}) == 1`;

  for (const server of facts.servers) {
    add(
      "NatsNodeNotSurveyed",
      "critical",
      // Only while Surveyor itself answers: when it is down, NatsSurveyorDown says so once.
      `absent(${selector("nats_core_info", { server_name: server })}) and on() (${surveyorUp})`,
      a.nodeNotSurveyed.for,
      { ...job, server_name: server },
      `NATS node ${server} of ${facts.stack} is not surveyed`,
      `Surveyor of stack ${facts.stack} surveys fewer than the ${facts.servers.length} declared node${facts.servers.length === 1 ? "" : "s"}: ${server} is missing (stopped, unreachable, or not answering the system account).`,
    );
  }
  add(
    "NatsSurveyorDown",
    "critical",
    `max by (job) (${selector("up")}) == 0`,
    a.surveyorDown.for,
    { ...job },
    `Surveyor of ${facts.stack} is down`,
    `Prometheus cannot scrape ${facts.stack}-surveyor: no metric of stack ${facts.stack} is collected, so none of its other alerts can fire.`,
  );

  storageRules(facts, monitoring, add);
  consumerRules(facts, monitoring, add);

  for (const server of facts.servers) {
    const node = { server_name: server };
    add(
      "NatsSlowConsumers",
      "warning",
      `${maxBy(["server_name"], `increase(${selector("nats_core_slow_consumer_count", node)}[${a.slowConsumers.window}])`)} >= ${a.slowConsumers.increase}`,
      a.slowConsumers.for,
      node,
      `Slow consumers on NATS node ${server} of ${facts.stack}`,
      `NATS node ${server} of stack ${facts.stack} dropped at least ${a.slowConsumers.increase} slow consumer(s) within ${a.slowConsumers.window}: clients that could not keep up with their messages.`,
    );
    const limit = Math.floor(a.connections.share * facts.maxConnections);
    add(
      "NatsConnectionsHigh",
      "warning",
      `${maxBy(["server_name"], selector("nats_core_connection_count", node))} > ${limit}`,
      a.connections.for,
      node,
      `NATS node ${server} of ${facts.stack} is near its connection limit`,
      `NATS node ${server} of stack ${facts.stack} has more than ${limit} client connections, ${percent(a.connections.share)} of server.maxConnections (${facts.maxConnections}); beyond it new clients are refused.`,
    );
    if (facts.clustered) {
      const expected = (facts.servers.length - 1) * a.routeDown.routesPerPeer;
      add(
        "NatsRouteDown",
        "critical",
        `${maxBy(["server_name"], selector("nats_core_route_count", node))} < ${expected}`,
        a.routeDown.for,
        node,
        `A route of NATS node ${server} of ${facts.stack} is down`,
        `NATS node ${server} of stack ${facts.stack} has fewer than its ${expected} routes (${a.routeDown.routesPerPeer} to each of ${facts.servers.filter((s) => s !== server).join(", ")}): a peer is down or unreachable.`,
      );
    }
  }
  authErrorRules(facts, monitoring, rules);
  const exporter = { job: AUTH_EVENTS_JOB };
  add(
    "NatsAuthEventsExporterDown",
    "warning",
    // Scrape failed, or scraped but not connected to NATS. Both sides keep only `job`, so a
    // failed scrape and a stale "connected" sample count once. No absent(): a Prometheus without
    // the exporter's job (one that only loads this file) has no exporter to miss.
    `${maxBy(["job"], selector("up", exporter))} == 0 or ${maxBy(["job"], selector("nats_infra_auth_events_connected", exporter))} == 0`,
    monitoring.alerts.authEventsExporterDown.for,
    exporter,
    `The exporter of refused logins of ${facts.stack} is down`,
    `Prometheus cannot scrape ${facts.stack}-auth-events, or it is not connected to NATS: refused logins on stack ${facts.stack} are not counted, so NatsAuthErrorsRising cannot fire.`,
  );
  return rules;
}

/**
 * The user a refused login named, as the exporter labels it: a user of the stack by its name,
 * any other name as "other" (tools/auth-events). A Go template on purpose, built here and never
 * from stack text: the alert says which user without a rule per user.
 */
export const AUTH_ERRORS_USER_TEMPLATE = '{{ if eq $labels.user "other" }}user names the stack does not have{{ else }}its user {{ $labels.user }}{{ end }}';

/** One rule per node, firing per (node, user): the exporter counts by the server's name. */
function authErrorRules(facts: StackFacts, monitoring: MonitoringConfig, rules: GeneratedRule[]): void {
  const { increase, window, for: forDuration } = monitoring.alerts.authErrors;
  for (const server of facts.servers) {
    const node = { server_name: server };
    rules.push({
      rule: {
        alert: "NatsAuthErrorsRising",
        expr: `${maxBy(["server_name", "user"], `increase(${selector("nats_infra_auth_errors_total", { job: AUTH_EVENTS_JOB, ...node })}[${window}])`)} >= ${increase}`,
        for: forDuration,
        labels: { severity: "warning", stack: facts.stack, ...node },
        annotations: {
          summary: plain(`Refused logins on NATS node ${server} of ${facts.stack}`),
          description: `${plain(`NATS node ${server} of stack ${facts.stack} refused at least ${increase} logins within ${window} for`)} ${AUTH_ERRORS_USER_TEMPLATE}: a wrong or outdated password (a client not given its rotated password retries every few seconds) or someone guessing.`,
        },
      },
      // Plus `user`, which only the firing series knows.
      resultLabels: node,
    });
  }
}

type Add = (alert: AlertName, severity: Severity, expr: string, forDuration: string, resultLabels: Record<string, string>, summary: string, description: string, extra?: Record<string, string>) => void;

function storageRules(facts: StackFacts, monitoring: MonitoringConfig, add: Add): void {
  const { share, for: forDuration } = monitoring.alerts.storage;
  const past = (limit: number) => Math.floor(share * limit);
  const kinds = [
    { storage: "file", accountMetric: "nats_core_account_jetstream_storage_used", serverMetric: "nats_core_jetstream_filestore_used_bytes" },
    { storage: "memory", accountMetric: "nats_core_account_jetstream_memory_used", serverMetric: "nats_core_jetstream_memstore_used_bytes" },
  ] as const;
  for (const kind of kinds) {
    for (const account of facts.jetstreamAccounts) {
      const limit = kind.storage === "file" ? account.maxFile : account.maxMemory;
      add(
        "NatsAccountStorageHigh",
        "warning",
        `${maxBy(["account"], selector(kind.accountMetric, { account: account.account }))} > ${past(limit)}`,
        forDuration,
        { account: account.account },
        `JetStream ${kind.storage} storage of account ${account.account} in ${facts.stack} is past ${percent(share)}`,
        `Account ${account.account} of stack ${facts.stack} uses more than ${percent(share)} of its JetStream ${kind.storage} storage limit (${formatBytes(limit)}); at the limit its streams refuse new messages.`,
        { storage: kind.storage },
      );
    }
    if (!facts.jetstream.enabled) continue;
    const serverLimit = kind.storage === "file" ? facts.jetstream.maxFileStore : facts.jetstream.maxMemoryStore;
    for (const server of facts.servers) {
      add(
        "NatsServerStorageHigh",
        "warning",
        `${maxBy(["server_name"], selector(kind.serverMetric, { server_name: server }))} > ${past(serverLimit)}`,
        forDuration,
        { server_name: server },
        `JetStream ${kind.storage} storage of NATS node ${server} in ${facts.stack} is past ${percent(share)}`,
        `NATS node ${server} of stack ${facts.stack} uses more than ${percent(share)} of its JetStream ${kind.storage} store (jetstream.max${kind.storage === "file" ? "File" : "Memory"}Store, ${formatBytes(serverLimit)}).`,
        { storage: kind.storage },
      );
    }
  }
  for (const stream of facts.streams.filter((s) => s.maxBytes > 0)) {
    const labels = { account: stream.account, stream: stream.stream };
    add(
      "NatsStreamStorageHigh",
      "warning",
      `${maxBy(["account", "stream"], selector("nats_stream_total_bytes", labels))} > ${past(stream.maxBytes)}`,
      forDuration,
      labels,
      `Stream ${stream.stream} of ${facts.stack} is past ${percent(share)} of its maxBytes`,
      `Stream ${stream.stream} (account ${stream.account}) of stack ${facts.stack} holds more than ${percent(share)} of its maxBytes (${formatBytes(stream.maxBytes)}); at the limit it drops old messages or refuses new ones (its discard policy).`,
      { storage: stream.storage },
    );
  }
}

function consumerRules(facts: StackFacts, monitoring: MonitoringConfig, add: Add): void {
  const a = monitoring.alerts;
  const by = ["account", "stream", "consumer_name"];
  for (const consumer of declaredConsumers(facts)) {
    const labels = { account: consumer.account, stream: consumer.stream, consumer_name: consumer.consumer };
    const metric = (name: string) => maxBy(by, selector(name, labels));
    const who = `Consumer ${consumer.consumer} of stream ${consumer.stream} (account ${consumer.account}, stack ${facts.stack})${consumer.services.length ? `, read by ${consumer.services.join(", ")},` : ""}`;
    add(
      "NatsConsumerPending",
      "warning",
      `${metric("nats_consumer_num_pending")} > ${a.consumerPending.pending}`,
      a.consumerPending.for,
      labels,
      `Consumer ${consumer.consumer} of ${consumer.stream} in ${facts.stack} is falling behind`,
      `${who} has more than ${a.consumerPending.pending} messages not yet delivered.`,
    );
    if (consumer.maxAckPending > 0) {
      const limit = Math.floor(a.consumerAckPending.share * consumer.maxAckPending);
      add(
        "NatsConsumerAckPending",
        "warning",
        `${metric("nats_consumer_num_ack_pending")} > ${limit}`,
        a.consumerAckPending.for,
        labels,
        `Consumer ${consumer.consumer} of ${consumer.stream} in ${facts.stack} is near its maxAckPending`,
        `${who} has more than ${limit} unacknowledged messages, ${percent(a.consumerAckPending.share)} of its maxAckPending (${consumer.maxAckPending}); at the limit the server stops delivering to it.`,
      );
    }
    add(
      "NatsConsumerStalled",
      "warning",
      `(${metric("nats_consumer_num_pending")} + ${metric("nats_consumer_num_ack_pending")}) > 0 and ${maxBy(by, `changes(${selector("nats_consumer_ack_floor_stream_seq", labels)}[${a.consumerStalled.after}])`)} == 0`,
      a.consumerStalled.for,
      labels,
      `Consumer ${consumer.consumer} of ${consumer.stream} in ${facts.stack} makes no progress`,
      `${who} has messages to process but acknowledged none for ${a.consumerStalled.after}.`,
    );
  }
}

/** The rules file Prometheus loads (`rule_files`): one group for the stack. */
export function alertRuleGroups(config: StackConfig, monitoring: MonitoringConfig): { groups: { name: string; rules: AlertRule[] }[] } {
  return { groups: [{ name: `nats-infra-${config.docker.namePrefix}`, rules: generatedRules(config, monitoring).map((r) => r.rule) }] };
}

export function renderAlertRules(config: StackConfig, monitoring: MonitoringConfig): string {
  return stringify(alertRuleGroups(config, monitoring), { lineWidth: 0 });
}
