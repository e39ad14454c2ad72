// The containers beside the server: Surveyor (Prometheus metrics, system-account user) and
// nats-box (troubleshooting shell and natscli's operator checks, read-only observer user in the
// system account, config/observer.ts). Both run beside node 0 and reach the
// server on the Docker network (a single server as nats:4222; in a cluster every node by
// container name, so each is surveyed and a tool finds a node up during a rolling restart; across
// Docker hosts every node at its published client URL) and get their password only in a file
// written into the container (SIDECAR_SECRET_FILES), never in their environment.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { clientUrls, clusterNodes, isClustered, nodeCount, spansHosts } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import { SURVEYOR_USER } from "../config/users";
import { observerContext } from "../config/observer";
import { NATSCLI, SURVEYOR } from "../config/pinnedVersions";
import { CONTAINER, LABELS } from "../config/container";
import { memoryWithoutSwap } from "../config/dockerReadBack";
import { NATS_NETWORK_ALIAS } from "./natsContainerSpec";

export interface SidecarContext {
  /** The NatsCluster's name; children are named `<name>-surveyor`, `<name>-nats-box`. */
  name: string;
  config: StackConfig;
  parent: pulumi.Resource;
  /** Node 0's host: its network, and its Docker provider when it is another host. */
  network: docker.Network;
  provider?: docker.Provider;
  /** Sidecars start after the servers are healthy. */
  nats: docker.Container[];
}

/** Where the sidecars (and the monitoring's exporter) connect, on the Docker network: the server list NATS clients take. */
export function innerServerUrls(config: StackConfig): string {
  if (!isClustered(config)) return `nats://${NATS_NETWORK_ALIAS}:${CONTAINER.clientPort}`;
  // Container names resolve only on the node's own host.
  if (spansHosts(config)) return clientUrls(config);
  return clusterNodes(config).map((node) => `nats://${node.containerName}:${CONTAINER.clientPort}`).join(",");
}
/** Where each sidecar finds its password: files uploaded into the container, never its environment. */
export const SIDECAR_SECRET_FILES = {
  surveyor: "/etc/nats-infra/surveyor.yaml",
  natsBox: "/etc/nats-infra/nats-context.json",
} as const;

/** A file written into the container at creation; its content stays a secret in the state. */
export function secretUpload(file: string, content: pulumi.Output<string>): docker.types.input.ContainerUpload {
  return { file, content: pulumi.secret(content) };
}

/** The port Surveyor listens on inside its container. */
const SURVEYOR_PORT = 7777;

/**
 * Stream and consumer metrics (`nats_stream_*`, `nats_consumer_*`), which the generated alerts and
 * dashboards use: Surveyor reads `--jsz` from its command line only (docs/monitoring.md). Added only
 * with monitoring.prometheus on, so that a deployed stack's Surveyor (whose command change would
 * replace it) stays as it is on upgrade.
 */
export const surveyorJszArgs = (config: StackConfig): string[] => (config.monitoring.prometheus.enabled ? ["--jsz", "all"] : []);

export function createSurveyor(ctx: SidecarContext, password: pulumi.Output<string>): docker.Container {
  const { name, config } = ctx;
  const image = config.docker.surveyor.image ?? SURVEYOR.image;
  const servers = innerServerUrls(config);
  const pulled = new docker.RemoteImage(`${name}-surveyor-image`, { name: image, keepLocally: true }, { parent: ctx.parent, provider: ctx.provider });
  return new docker.Container(
    `${name}-surveyor`,
    {
      name: `${config.docker.namePrefix}-surveyor`,
      image,
      // Surveyor reads NATS_SURVEYOR_<FLAG> from the environment and, for the password, the
      // config file below: an environment entry shows in `docker inspect`, an uploaded file does not.
      envs: [
        `NATS_SURVEYOR_SERVERS=${servers}`,
        `NATS_SURVEYOR_USER=${SURVEYOR_USER}`,
        // How many servers answer a survey before it reports (not discovery).
        `NATS_SURVEYOR_COUNT=${nodeCount(config)}`,
        "NATS_SURVEYOR_ACCOUNTS=true",
      ],
      command: ["--config", SIDECAR_SECRET_FILES.surveyor, ...surveyorJszArgs(config)],
      // YAML (what Surveyor's config file is) accepts JSON: the password is serialised, never pasted.
      uploads: [secretUpload(SIDECAR_SECRET_FILES.surveyor, password.apply((secret) => JSON.stringify({ password: secret })))],
      // Where node 0 publishes (docker.bindAddress, or its address across hosts): endpoints.surveyor.
      ports: [{ internal: SURVEYOR_PORT, external: config.docker.surveyor.port, ip: clusterNodes(config)[0].bindAddress, protocol: "tcp" }],
      networksAdvanced: [{ name: ctx.network.name }],
      ...memoryWithoutSwap(256),
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      labels: [{ label: LABELS.role, value: "surveyor" }],
    },
    { parent: ctx.parent, dependsOn: [...ctx.nats, pulled], deleteBeforeReplace: true, provider: ctx.provider },
  );
}

export function createNatsBox(ctx: SidecarContext, password: pulumi.Output<string>): docker.Container {
  const { name, config } = ctx;
  const image = config.docker.natsBox.image ?? NATSCLI.image;
  const servers = innerServerUrls(config);
  const pulled = new docker.RemoteImage(`${name}-nats-box-image`, { name: image, keepLocally: true }, { parent: ctx.parent, provider: ctx.provider });
  return new docker.Container(
    `${name}-nats-box`,
    {
      name: `${config.docker.namePrefix}-nats-box`,
      image,
      // Idles so that `docker exec -it <prefix>-nats-box nats ...` works. natscli reads the
      // context file NATS_CONTEXT names (URL, user, password): a password in an environment entry
      // would show in `docker inspect`, an uploaded file does not.
      command: ["sleep", "infinity"],
      envs: [`NATS_CONTEXT=${SIDECAR_SECRET_FILES.natsBox}`],
      uploads: [secretUpload(SIDECAR_SECRET_FILES.natsBox, password.apply((secret) => JSON.stringify(observerContext(config, servers, secret))))],
      networksAdvanced: [{ name: ctx.network.name }],
      ...memoryWithoutSwap(128),
      restart: "unless-stopped",
      labels: [{ label: LABELS.role, value: "nats-box" }],
    },
    { parent: ctx.parent, dependsOn: [...ctx.nats, pulled], deleteBeforeReplace: true, provider: ctx.provider },
  );
}
