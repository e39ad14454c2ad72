// Grafana's provisioning files: the Prometheus datasource and a file provider that loads the
// generated dashboards, read-only (a change made in the UI would be lost at the next deploy, so
// it is refused; the dashboards change in render/monitoring/dashboards.ts).
import { stringify } from "yaml";
import type { StackConfig } from "../../config/schema";
import { PROMETHEUS_CONTAINER_PORT } from "./prometheusConfig";

/** The datasource uid every generated panel refers to. */
export const PROMETHEUS_DATASOURCE_UID = "nats-infra-prometheus";
export const GRAFANA_PATHS = {
  datasources: "/etc/grafana/provisioning/datasources/nats-infra.yml",
  dashboardProviders: "/etc/grafana/provisioning/dashboards/nats-infra.yml",
  // Outside Grafana's data volume: a file uploaded into the volume would outlive the container,
  // so a dashboard the stack no longer generates would stay provisioned.
  dashboards: "/etc/grafana/dashboards/nats-infra",
} as const;

/** Prometheus as Grafana reaches it on the stack's Docker network. */
export const dockerPrometheusUrl = (config: StackConfig): string => `http://${config.docker.namePrefix}-prometheus:${PROMETHEUS_CONTAINER_PORT}`;

export function grafanaDatasources(prometheusUrl: string) {
  return {
    apiVersion: 1,
    datasources: [{ name: "Prometheus", uid: PROMETHEUS_DATASOURCE_UID, type: "prometheus", access: "proxy", url: prometheusUrl, isDefault: true, editable: false }],
  };
}

export function grafanaDashboardProviders(config: StackConfig, dashboardsDir: string = GRAFANA_PATHS.dashboards) {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "nats-infra",
        folder: `NATS (${config.docker.namePrefix})`,
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: dashboardsDir },
      },
    ],
  };
}

export const renderGrafanaDatasources = (prometheusUrl: string): string => stringify(grafanaDatasources(prometheusUrl), { lineWidth: 0 });
export const renderGrafanaDashboardProviders = (config: StackConfig, dashboardsDir?: string): string => stringify(grafanaDashboardProviders(config, dashboardsDir), { lineWidth: 0 });
