// Where a deployment is reached from the machine it runs on: one answer for the component's
// outputs, the credentials it hands out and the render command's credentials.json.
import { LOOPBACK } from "./addresses";
import { clusterNodes, isClustered } from "./cluster";
import type { StackConfig } from "./schema";

export interface Endpoints {
  /** What clients pass to connect(): one URL, or every node's URL comma-separated (which NATS clients accept). */
  client: string;
  /** The monitoring endpoint (/healthz, /varz, ...) of the first node. */
  monitor: string;
  /** Surveyor's Prometheus endpoint, when Surveyor runs. */
  surveyor?: string;
  /** In a cluster: each node's server name, client URL and monitoring URL. */
  nodes?: { server: string; client: string; monitor: string }[];
}

/**
 * `container`: the ports Docker publishes (on `docker.bindAddress`, or a node's `address`).
 * `local`: nats-servers run on this host from a `--local` render, listening on loopback at the
 * nodes' ports (no Surveyor).
 */
export function endpoints(config: StackConfig, target: "container" | "local"): Endpoints {
  const all = clusterNodes(config);
  const nodes = all.map((node) =>
    target === "local"
      ? { server: node.serverName, client: `nats://${LOOPBACK}:${node.clientPort}`, monitor: `http://${LOOPBACK}:${node.monitorPort}` }
      : { server: node.serverName, client: node.clientUrl, monitor: node.monitorUrl },
  );
  const surveyor = target === "container" && config.docker.surveyor.enabled ? `http://${all[0].host}:${config.docker.surveyor.port}/metrics` : undefined;
  const client = nodes.map((n) => n.client).join(",");
  return isClustered(config) ? { client, monitor: nodes[0].monitor, surveyor, nodes } : { client, monitor: nodes[0].monitor, surveyor };
}
