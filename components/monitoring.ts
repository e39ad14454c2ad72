// Monitoring as code on the Docker host (`nats-infra:monitoring`, docs/monitoring.md): a Prometheus
// that scrapes Surveyor and evaluates the rules generated from the stack, and a Grafana provisioned
// with the generated datasource and dashboards. Both run beside Surveyor on node 0's host and
// network, publish on its bind address only, and keep their data on retained volumes. Every file
// they read is uploaded into the container at creation (as the sidecars' files are), so a change
// of the stack that changes a rule or a dashboard replaces that container, never the nats servers.
// Beside Prometheus runs the exporter of refused logins (tools/auth-events), which Prometheus
// scrapes over the network for NatsAuthErrorsRising.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { clusterNodes } from "../config/cluster";
import { LABELS } from "../config/container";
import { SURVEYOR } from "../config/pinnedVersions";
import { memoryWithoutSwap } from "../config/dockerReadBack";
import { GRAFANA_IMAGE, monitoringVolumeNames, PROMETHEUS_IMAGE } from "../config/monitoring";
import { PASSWORD_LENGTH, PASSWORD_SPECIALS } from "../config/passwords";
import type { StackConfig } from "../config/schema";
import { AUTH_EVENTS_USER } from "../config/users";
import { AUTH_EVENTS_BINARY, authEventsArgs, AuthEventsBinaryMissing, builtAuthEventsBinary } from "../render/monitoring/authEvents";
import { renderAlertRules } from "../render/monitoring/alerts";
import { renderDashboards } from "../render/monitoring/dashboards";
import { dockerPrometheusUrl, GRAFANA_PATHS, renderGrafanaDashboardProviders, renderGrafanaDatasources } from "../render/monitoring/grafanaProvisioning";
import { innerServerUrls, secretUpload } from "./sidecars";
import type { UserSecret } from "./credentials";
import { AUTH_EVENTS_CONTAINER_PORT, dockerAuthEventsTarget, dockerSurveyorTarget, PROMETHEUS_CONTAINER_PORT, PROMETHEUS_PATHS, prometheusArgs, renderPrometheusConfig } from "../render/monitoring/prometheusConfig";

export interface MonitoringContext {
  /** The NatsCluster's name; children are `<name>-prometheus`, `<name>-grafana`, ... */
  name: string;
  config: StackConfig;
  parent: pulumi.Resource;
  /** Node 0's network (where Surveyor is) and its Docker provider when it is another host. */
  network: docker.Network;
  provider?: docker.Provider;
  /** Prometheus starts after the container it scrapes. */
  surveyor?: docker.Container;
  /** Every user's password (NatsCluster.users): the exporter's is among them. */
  users: Record<string, UserSecret>;
}

export interface MonitoringEndpoints {
  /** Prometheus's UI and API. */
  prometheus: string;
  /** Grafana's UI, when Grafana runs. */
  grafana?: string;
}

/** Grafana's administrator, as a secret output. */
export interface GrafanaAdmin {
  user: string;
  password: string;
  url: string;
}

export interface Monitoring {
  endpoints: MonitoringEndpoints;
  grafanaAdmin?: pulumi.Output<GrafanaAdmin>;
  prometheus: docker.Container;
  grafana?: docker.Container;
  authEvents: docker.Container;
}

/** The port Grafana listens on inside its container. */
export const GRAFANA_CONTAINER_PORT = 3000;
export const GRAFANA_ADMIN_USER = "admin";
/** Where Grafana keeps its database (users, the admin password, preferences): the retained volume. */
export const GRAFANA_DATA_DIR = "/var/lib/grafana";
/** Read by Grafana through GF_SECURITY_ADMIN_PASSWORD__FILE: `docker inspect` shows the path, not the password. */
export const GRAFANA_ADMIN_PASSWORD_FILE = "/etc/nats-infra/grafana-admin-password";

/** Enough for a few thousand series over the default 15 days, and for Grafana's start-up migrations. */
export const PROMETHEUS_MEMORY_MB = 512;
export const GRAFANA_MEMORY_MB = 512;
/** The exporter keeps one counter per node and user; a few MB of Go heap. */
export const AUTH_EVENTS_MEMORY_MB = 64;

/** The exporter of refused logins (its path is shared with `nats-infra dev --monitoring`). */
export { AUTH_EVENTS_BINARY };
/** Where the exporter and its password land in its container. */
export const AUTH_EVENTS_PATHS = { binary: "/usr/local/bin/nats-infra-auth-events", password: "/etc/nats-infra/auth-events-password" } as const;


/** Settings both containers share. */
function commonArgs(ctx: MonitoringContext, role: string) {
  return {
    networksAdvanced: [{ name: ctx.network.name }],
    restart: "unless-stopped",
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    labels: [{ label: LABELS.role, value: role }],
  };
}

/** Prometheus and, when enabled, Grafana; undefined when monitoring.prometheus is off (the default). */
export function createMonitoring(ctx: MonitoringContext): Monitoring | undefined {
  const { monitoring } = ctx.config;
  if (!monitoring.prometheus.enabled) return undefined;
  const authEvents = createAuthEvents(ctx);
  const prometheus = createPrometheus(ctx);
  const host = clusterNodes(ctx.config)[0].host;
  const endpoints: MonitoringEndpoints = { prometheus: `http://${host}:${monitoring.prometheus.port}` };
  if (!monitoring.grafana.enabled) return { endpoints, prometheus, authEvents };
  const url = `http://${host}:${monitoring.grafana.port}`;
  const password = createGrafanaPassword(ctx);
  const grafana = createGrafana(ctx, password, prometheus);
  const grafanaAdmin = pulumi.secret(password.apply((secret) => ({ user: GRAFANA_ADMIN_USER, password: secret, url })));
  return { endpoints: { ...endpoints, grafana: url }, grafanaAdmin, prometheus, grafana, authEvents };
}

/**
 * The exporter's binary and its sha256 (a new build replaces the container), or an error saying
 * how to build it: the program fails at preview rather than deploying a container that cannot start.
 */
export function authEventsBinary(file: string = AUTH_EVENTS_BINARY): { source: string; sourceHash: string } {
  try {
    builtAuthEventsBinary(file);
  } catch (error) {
    if (error instanceof AuthEventsBinaryMissing) throw new pulumi.RunError(`monitoring.prometheus needs the exporter of refused logins: ${error.message}`);
    throw error;
  }
  return { source: file, sourceHash: createHash("sha256").update(readFileSync(file)).digest("hex") };
}

/**
 * tools/auth-events in a container of the stack's Surveyor image: it is on node 0's host already
 * (Prometheus needs Surveyor), and the exporter is a static binary, so any base runs it. Not the
 * nats image: the policy pack takes every container of that image for a nats-server (it would
 * demand a JetStream volume on /data). Logs in as _auth_events with its password
 * from an uploaded file (never its environment or command line), counts the servers' refused
 * logins, serves /metrics on the stack's network only (no published port; Prometheus scrapes it
 * by name).
 */
function createAuthEvents(ctx: MonitoringContext): docker.Container {
  const { name, config } = ctx;
  const binary = authEventsBinary();
  const password = ctx.users[AUTH_EVENTS_USER]?.password;
  if (!password) throw new Error(`no password for ${AUTH_EVENTS_USER}: the monitoring needs NatsCluster's users`);
  return new docker.Container(
    `${name}-auth-events`,
    {
      // The name Prometheus scrapes it by (dockerAuthEventsTarget).
      name: `${config.docker.namePrefix}-auth-events`,
      image: config.docker.surveyor.image ?? SURVEYOR.image,
      entrypoints: [AUTH_EVENTS_PATHS.binary],
      // The flags `nats-infra dev --monitoring` passes too (render/monitoring/authEvents.ts).
      command: authEventsArgs(config, { servers: innerServerUrls(config), passwordFile: AUTH_EVENTS_PATHS.password, listen: `:${AUTH_EVENTS_CONTAINER_PORT}` }),
      uploads: [{ file: AUTH_EVENTS_PATHS.binary, ...binary, executable: true }, secretUpload(AUTH_EVENTS_PATHS.password, password)],
      // Go's collector keeps the heap under this, below the container's limit (as for nats-server).
      envs: [`GOMEMLIMIT=${Math.floor(AUTH_EVENTS_MEMORY_MB * 0.8)}MiB`],
      ...memoryWithoutSwap(AUTH_EVENTS_MEMORY_MB),
      ...commonArgs(ctx, "auth-events"),
    },
    // After Surveyor: its image is then on the host, and every nats container is up.
    { parent: ctx.parent, dependsOn: ctx.surveyor ? [ctx.surveyor] : [], deleteBeforeReplace: true, provider: ctx.provider },
  );
}

function createPrometheus(ctx: MonitoringContext): docker.Container {
  const { name, config } = ctx;
  const { prometheus } = config.monitoring;
  const image = prometheus.image ?? PROMETHEUS_IMAGE;
  const pulled = new docker.RemoteImage(`${name}-prometheus-image`, { name: image, keepLocally: true }, { parent: ctx.parent, provider: ctx.provider });
  const volume = createRetainedVolume(ctx, `${name}-prometheus-data`, monitoringVolumeNames(config).prometheus, "prometheus-data");
  const prometheusYml = renderPrometheusConfig(config, config.monitoring, { surveyorTarget: dockerSurveyorTarget(config), authEventsTarget: dockerAuthEventsTarget(config), rulesFile: PROMETHEUS_PATHS.rules });
  return new docker.Container(
    `${name}-prometheus`,
    {
      // The name Grafana's datasource reaches it by (dockerPrometheusUrl).
      name: `${config.docker.namePrefix}-prometheus`,
      image,
      // The image's entrypoint is prometheus itself: these are its flags.
      command: prometheusArgs(config.monitoring),
      uploads: [
        { file: PROMETHEUS_PATHS.config, content: prometheusYml },
        { file: PROMETHEUS_PATHS.rules, content: renderAlertRules(config, config.monitoring) },
      ],
      volumes: [{ volumeName: volume.name, containerPath: PROMETHEUS_PATHS.data }],
      ports: [{ internal: PROMETHEUS_CONTAINER_PORT, external: prometheus.port, ip: clusterNodes(config)[0].bindAddress, protocol: "tcp" }],
      ...memoryWithoutSwap(PROMETHEUS_MEMORY_MB),
      ...commonArgs(ctx, "prometheus"),
    },
    { parent: ctx.parent, dependsOn: [pulled, volume, ...(ctx.surveyor ? [ctx.surveyor] : [])], deleteBeforeReplace: true, provider: ctx.provider },
  );
}

/** Shaped like every generated password (components/credentials.ts); secret, whatever the engine marks. */
function createGrafanaPassword(ctx: MonitoringContext): pulumi.Output<string> {
  const password = new random.RandomPassword(
    `${ctx.name}-grafana-admin-password`,
    { length: PASSWORD_LENGTH, special: true, overrideSpecial: PASSWORD_SPECIALS, minLower: 1, minUpper: 1, minNumeric: 1 },
    { parent: ctx.parent },
  );
  return pulumi.secret(password.result);
}

function createGrafana(ctx: MonitoringContext, password: pulumi.Output<string>, prometheus: docker.Container): docker.Container {
  const { name, config } = ctx;
  const { grafana } = config.monitoring;
  const image = grafana.image ?? GRAFANA_IMAGE;
  const pulled = new docker.RemoteImage(`${name}-grafana-image`, { name: image, keepLocally: true }, { parent: ctx.parent, provider: ctx.provider });
  const volume = createRetainedVolume(ctx, `${name}-grafana-data`, monitoringVolumeNames(config).grafana, "grafana-data");
  const dashboards = Object.entries(renderDashboards(config)).map(([file, content]) => ({ file: `${GRAFANA_PATHS.dashboards}/${file}`, content }));
  return new docker.Container(
    `${name}-grafana`,
    {
      name: `${config.docker.namePrefix}-grafana`,
      image,
      envs: [
        `GF_SECURITY_ADMIN_USER=${GRAFANA_ADMIN_USER}`,
        // Grafana reads any setting from the file a `__FILE` variable names. It sets the admin
        // password when it creates its database (the first start on an empty volume) only.
        `GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_ADMIN_PASSWORD_FILE}`,
        // Anonymous access is off by Grafana's default; sign-up is closed here.
        "GF_USERS_ALLOW_SIGN_UP=false",
        // No calls home from the host.
        "GF_ANALYTICS_REPORTING_ENABLED=false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
        "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES=false",
      ],
      uploads: [
        { file: GRAFANA_ADMIN_PASSWORD_FILE, content: pulumi.secret(password) },
        { file: GRAFANA_PATHS.datasources, content: renderGrafanaDatasources(dockerPrometheusUrl(config)) },
        { file: GRAFANA_PATHS.dashboardProviders, content: renderGrafanaDashboardProviders(config, GRAFANA_PATHS.dashboards) },
        ...dashboards,
      ],
      volumes: [{ volumeName: volume.name, containerPath: GRAFANA_DATA_DIR }],
      ports: [{ internal: GRAFANA_CONTAINER_PORT, external: grafana.port, ip: clusterNodes(config)[0].bindAddress, protocol: "tcp" }],
      ...memoryWithoutSwap(GRAFANA_MEMORY_MB),
      ...commonArgs(ctx, "grafana"),
    },
    { parent: ctx.parent, dependsOn: [pulled, volume, prometheus], deleteBeforeReplace: true, provider: ctx.provider },
  );
}

/**
 * Kept by `pulumi destroy` and replacements, like the JetStream volume (components/natsNode.ts):
 * the metric history and Grafana's database (its admin password among them) outlive a redeploy.
 */
function createRetainedVolume(ctx: MonitoringContext, resourceName: string, volumeName: string, role: string): docker.Volume {
  return new docker.Volume(
    resourceName,
    { name: volumeName, labels: [{ label: LABELS.role, value: role }, { label: LABELS.retainOnDelete, value: "true" }] },
    { parent: ctx.parent, retainOnDelete: true, provider: ctx.provider },
  );
}
