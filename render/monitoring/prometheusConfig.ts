// prometheus.yml and the Prometheus command line for a stack: the scrape jobs, Surveyor and, where
// it runs, the exporter of refused logins (tools/auth-events), and the generated rules file.
// Where each is reached is a parameter: `<namePrefix>-surveyor:7777` and
// `<namePrefix>-auth-events:7778` on the stack's Docker network, 127.0.0.1:<port> for a local
// run or a test.
import { stringify } from "yaml";
import { AUTH_EVENTS_JOB, SURVEYOR_JOB, type MonitoringConfig } from "../../config/monitoring";
import type { StackConfig } from "../../config/schema";

/** The port Surveyor listens on inside its container (components/sidecars.ts). */
export const SURVEYOR_CONTAINER_PORT = 7777;
/** The port the exporter of refused logins serves /metrics on inside its container (components/monitoring.ts). */
export const AUTH_EVENTS_CONTAINER_PORT = 7778;
/** Where the Prometheus container keeps its config and its data (the retained volume). */
export const PROMETHEUS_PATHS = { config: "/etc/prometheus/prometheus.yml", rules: "/etc/prometheus/rules/nats-infra.rules.yml", data: "/prometheus" } as const;
/** The port Prometheus listens on inside its container. */
export const PROMETHEUS_CONTAINER_PORT = 9090;

/** Surveyor as Prometheus reaches it from the stack's Docker network. */
export const dockerSurveyorTarget = (config: StackConfig): string => `${config.docker.namePrefix}-surveyor:${SURVEYOR_CONTAINER_PORT}`;

/** The exporter of refused logins as Prometheus reaches it from the stack's Docker network. */
export const dockerAuthEventsTarget = (config: StackConfig): string => `${config.docker.namePrefix}-auth-events:${AUTH_EVENTS_CONTAINER_PORT}`;

export interface PrometheusConfigOptions {
  /** host:port of Surveyor's /metrics. */
  surveyorTarget: string;
  /** host:port of the auth-events exporter's /metrics; no job without it (no exporter runs). */
  authEventsTarget?: string;
  /** Path of the rules file as Prometheus sees it. */
  rulesFile: string;
}

export function prometheusConfig(config: StackConfig, monitoring: MonitoringConfig, options: PrometheusConfigOptions) {
  const { scrapeInterval, scrapeTimeout, evaluationInterval } = monitoring.prometheus;
  return {
    global: {
      scrape_interval: scrapeInterval,
      scrape_timeout: scrapeTimeout,
      evaluation_interval: evaluationInterval,
      // Tells this stack's series and alerts apart where several stacks share a receiver.
      external_labels: { stack: config.docker.namePrefix },
    },
    rule_files: [options.rulesFile],
    scrape_configs: [
      { job_name: SURVEYOR_JOB, static_configs: [{ targets: [options.surveyorTarget] }] },
      ...(options.authEventsTarget ? [{ job_name: AUTH_EVENTS_JOB, static_configs: [{ targets: [options.authEventsTarget] }] }] : []),
    ],
  };
}

export function renderPrometheusConfig(config: StackConfig, monitoring: MonitoringConfig, options: PrometheusConfigOptions): string {
  return stringify(prometheusConfig(config, monitoring, options), { lineWidth: 0 });
}

/** Prometheus's arguments: retention is a flag, not a config-file setting. */
export function prometheusArgs(monitoring: MonitoringConfig, paths: { config: string; data: string; listen: string } = { config: PROMETHEUS_PATHS.config, data: PROMETHEUS_PATHS.data, listen: `0.0.0.0:${PROMETHEUS_CONTAINER_PORT}` }): string[] {
  return [`--config.file=${paths.config}`, `--storage.tsdb.path=${paths.data}`, `--storage.tsdb.retention.time=${monitoring.prometheus.retention}`, `--web.listen-address=${paths.listen}`];
}
