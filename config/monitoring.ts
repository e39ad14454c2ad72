// Monitoring as code (`nats-infra:monitoring`): a Prometheus that scrapes Surveyor and evaluates
// alert rules generated from the stack, and a Grafana provisioned with generated dashboards.
// Both are off by default (docs/monitoring.md says why); every alert threshold has a default here.
// The renderers (render/monitoring/) take this parsed value beside the stack config.
import { z } from "zod";
import type { Finding } from "./findings";
import { imageOverride, port } from "./primitives";

/**
 * Images pinned like config/versions.json pins NATS: the Prometheus image is the release whose
 * promtool and prometheus (Debian bookworm's `prometheus` package, 2.42.0) check and run the
 * generated rules in the tests, so the rules are proven on the version that deploys them.
 * Grafana cannot be run here (no registry); its image is the release the dashboards target.
 */
export const PROMETHEUS_IMAGE = "prom/prometheus:v2.42.0";
export const GRAFANA_IMAGE = "grafana/grafana:12.3.0";

/** The Surveyor scrape job: alert rules and dashboard queries select on it. */
export const SURVEYOR_JOB = "nats-surveyor";
/** The scrape job of the exporter of refused logins (tools/auth-events): NatsAuthErrorsRising selects on it. */
export const AUTH_EVENTS_JOB = "nats-auth-events";

/**
 * A Prometheus duration (its own syntax: units y, w, d, h, m, s, ms, largest first, whole
 * numbers). Go durations such as "1.5h" or "300us", which the NATS settings take, are refused:
 * Prometheus would refuse them at load.
 */
export const PROMETHEUS_DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;
export const promDuration = z
  .string()
  .regex(PROMETHEUS_DURATION, 'a Prometheus duration: whole numbers with y, w, d, h, m, s or ms, largest unit first, such as "30s", "5m" or "1h30m"')
  .refine((value) => value !== "", "a duration cannot be empty; use \"0s\" for none");

/** Milliseconds of a Prometheus duration (checked by promDuration first). */
export function promDurationMs(value: string): number {
  const units: Record<string, number> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) total += Number(amount) * units[unit];
  return total;
}

/** The shortest scrape timeout that outlasts a survey with a node down (see scrapeTimeout). */
export const MIN_SCRAPE_TIMEOUT_MS = 5_000;

/** A share of a limit, above 0 and at most 1 (0.8 = 80 %). */
const share = z.number().gt(0, "a share above 0, such as 0.8 for 80 %").max(1, "a share of at most 1 (100 %)");
const positiveCount = z.number().int().min(1);


/** How long a condition must hold before the alert fires ("0s": at the first evaluation that sees it). */
const forDuration = (fallback: string) => promDuration.default(fallback);

export const alertsSchema = z
  .object({
    /** A declared node is missing from Surveyor's survey (stopped, unreachable, or not answering). */
    nodeNotSurveyed: z.object({ for: forDuration("1m") }).strict().prefault({}),
    /** Prometheus cannot scrape Surveyor: no NATS metric at all, so no other alert can fire. */
    surveyorDown: z.object({ for: forDuration("1m") }).strict().prefault({}),
    /**
     * JetStream storage past `share` of its limit: an account's (its own maxFile/maxMemory, else
     * the server's), a server's (jetstream.maxFileStore/maxMemoryStore), a stream's (its maxBytes,
     * where declared). At the limit, publishes are refused or old messages dropped.
     */
    storage: z.object({ share: share.default(0.8), for: forDuration("5m") }).strict().prefault({}),
    /** A declared consumer has more than `pending` messages not yet delivered. */
    consumerPending: z.object({ pending: positiveCount.default(1000), for: forDuration("5m") }).strict().prefault({}),
    /**
     * A declared consumer's unacknowledged messages past `share` of its maxAckPending (at the
     * limit the server stops delivering); consumers without a limit (-1) get no such alert.
     */
    consumerAckPending: z.object({ share: share.default(0.9), for: forDuration("5m") }).strict().prefault({}),
    /** A declared consumer has messages to process and its ack floor has not moved for `after`. */
    consumerStalled: z.object({ after: promDuration.default("10m"), for: forDuration("0s") }).strict().prefault({}),
    /** At least `increase` new slow consumers on a server within `window` (the server dropped a client that fell behind). */
    slowConsumers: z.object({ increase: positiveCount.default(1), window: promDuration.default("5m"), for: forDuration("0s") }).strict().prefault({}),
    /** A server's connections past `share` of server.maxConnections; at the limit new clients are refused. */
    connections: z.object({ share: share.default(0.8), for: forDuration("5m") }).strict().prefault({}),
    /**
     * In a cluster: a server has fewer routes than (nodes - 1) x `routesPerPeer`. nats-server 2.10+
     * opens a pool of 3 routes per peer plus one pinned to the system account: 4 (checked on
     * 2.14.10: 8 routes on each node of 3, 4 on each after one was killed).
     */
    routeDown: z.object({ routesPerPeer: positiveCount.default(4), for: forDuration("1m") }).strict().prefault({}),
    /**
     * At least `increase` logins refused by one server for one user name within `window`
     * (counted by the exporter of the server's auth-error events, tools/auth-events). 5 in 5m:
     * one or two typos by a person stay quiet, while a client retrying with a wrong or
     * outdated password (nats.js and nats.go reconnect every 2 s) or someone guessing passes it
     * within seconds; `for` 0s since the window already spans the burst. Prometheus's
     * increase() extrapolates, so a count near the threshold can land on either side of it.
     */
    authErrors: z.object({ increase: positiveCount.default(5), window: promDuration.default("5m"), for: forDuration("0s") }).strict().prefault({}),
    /**
     * Prometheus cannot scrape the exporter of refused logins, or it reports that it is not
     * connected to NATS: refused logins then go uncounted and authErrors cannot fire. 2m: the
     * exporter reconnects every second, so the moment a server restart (or a rolling restart
     * moving it to another node) disconnects it stays below it, with a few scrapes to spare.
     */
    authEventsExporterDown: z.object({ for: forDuration("2m") }).strict().prefault({}),
  })
  .strict();

export const prometheusSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Host port of the Prometheus UI and API, bound to docker.bindAddress. */
    port: port.default(9090),
    /** How long samples are kept on its volume (`--storage.tsdb.retention.time`). */
    retention: promDuration.default("15d"),
    image: imageOverride,
    scrapeInterval: promDuration.default("15s"),
    /**
     * Surveyor surveys on every scrape and waits up to its timeout (3 s) for a missing node: with
     * a 1 s timeout every scrape failed while a node was down and NatsSurveyorDown fired falsely;
     * with 5 s none failed (test/monitoring/alerts.server.test.ts). Hence at least 5 s.
     */
    scrapeTimeout: promDuration.default("10s").refine((value) => promDurationMs(value) >= MIN_SCRAPE_TIMEOUT_MS, "at least 5s: a survey waits up to 3 s for a node that is down, and a shorter scrape would read as Surveyor down"),
    evaluationInterval: promDuration.default("15s"),
  })
  .strict()
  .superRefine((prometheus, ctx) => {
    if (promDurationMs(prometheus.scrapeTimeout) > promDurationMs(prometheus.scrapeInterval)) {
      ctx.addIssue({ code: "custom", path: ["scrapeTimeout"], message: `cannot be longer than scrapeInterval (${prometheus.scrapeInterval}); Prometheus refuses it` });
    }
  });

export const grafanaSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Host port of the Grafana UI, bound to docker.bindAddress. */
    port: port.default(3000),
    image: imageOverride,
  })
  .strict();

export const monitoringSchema = z
  .object({
    prometheus: prometheusSchema.prefault({}),
    grafana: grafanaSchema.prefault({}),
    alerts: alertsSchema.prefault({}),
  })
  .strict()
  .superRefine((monitoring, ctx) => {
    if (monitoring.grafana.enabled && !monitoring.prometheus.enabled) {
      ctx.addIssue({ code: "custom", path: ["grafana", "enabled"], message: "Grafana shows what Prometheus collects: set monitoring.prometheus.enabled too" });
    }
  });

export type MonitoringInput = z.input<typeof monitoringSchema>;
export type MonitoringConfig = z.output<typeof monitoringSchema>;
export type AlertThresholds = MonitoringConfig["alerts"];

/** Cross-field checks against the rest of the stack, for config/validate.ts: messages, empty when fine. */
export function monitoringProblems(surveyorEnabled: boolean, monitoring: MonitoringConfig): Finding[] {
  if (monitoring.prometheus.enabled && !surveyorEnabled) {
    return [{ path: ["monitoring", "prometheus", "enabled"], message: "Prometheus scrapes Surveyor, which docker.surveyor.enabled turns off; enable Surveyor or turn Prometheus off" }];
  }
  return [];
}

/** The volumes' Docker names, from the stack's prefix (what `nats-infra clean` finds). */
export const monitoringVolumeNames = (config: { docker: { namePrefix: string } }) => ({
  prometheus: `${config.docker.namePrefix}-prometheus-data`,
  grafana: `${config.docker.namePrefix}-grafana-data`,
});
