// The servers of a deployment, derived once from the stack config: names, ports, Docker host and
// how the others reach each one. Everything per node (rendering, containers, config delivery,
// endpoints, Surveyor) reads this list, so a node's facts have one home.
//
// Node 0 keeps every name the single server has always had (container, volume, config dir,
// resource names), so `nodes: 1` is exactly the single-server deployment and growing a cluster
// keeps node 0's JetStream data where it is.
import { hostAddress } from "./addresses";
import type { StackConfig } from "./schema";

export interface ClusterNode {
  /** 0 .. nodes-1; also the order in which changes that restart a server are applied. */
  index: number;
  /** "" for node 0, "-<index>" otherwise: the suffix of every per-node name. */
  suffix: string;
  /** nats.conf `server_name`: unique in the cluster. */
  serverName: string;
  containerName: string;
  volumeName: string;
  /** Host ports. */
  clientPort: number;
  monitorPort: number;
  /** The Docker host the node runs on; undefined: the one Pulumi's Docker provider uses. */
  dockerHost?: string;
  /** Where clients reach the node's published ports. */
  host: string;
  /** The IP its ports publish on: `address` in a cluster across hosts, else `docker.bindAddress`. */
  bindAddress: string;
  clientUrl: string;
  monitorUrl: string;
  /** Where the other nodes open their routes to this one (without credentials). */
  routeUrl: string;
}

export const nodeCount = (config: StackConfig): number =>
  typeof config.cluster.nodes === "number" ? config.cluster.nodes : config.cluster.nodes.length;

/** More than one server: routes, a cluster block, per-node resources. */
export const isClustered = (config: StackConfig): boolean => nodeCount(config) > 1;

/** The nodes written out in `cluster.nodes` (none when it is a count). */
export const declaredNodes = (config: StackConfig) => (Array.isArray(config.cluster.nodes) ? config.cluster.nodes : []);

/** Some node runs on another Docker host: routes cross the network (TLS required) and publish their port. */
export const spansHosts = (config: StackConfig): boolean => declaredNodes(config).some((node) => node.dockerHost !== undefined);

/**
 * Where a node's client or monitoring port comes from: its own entry in cluster.nodes, or the
 * server's port plus the node's index. `base` is the key to change, `key` how the port follows
 * from it (`server.clientPort + 1`), both without the `nats-infra:` prefix.
 */
export function nodePortSource(config: StackConfig, index: number, field: "clientPort" | "monitorPort"): { base: string; key: string } {
  if (declaredNodes(config)[index]?.[field] !== undefined) {
    const own = `cluster.nodes[${index}].${field}`;
    return { base: own, key: own };
  }
  const base = `server.${field}`;
  return { base, key: nodeCount(config) === 1 ? base : `${base} + ${index}` };
}

export function clusterNodes(config: StackConfig): ClusterNode[] {
  const count = nodeCount(config);
  const declared = declaredNodes(config);
  const baseVolume = config.docker.dataVolume ?? `${config.docker.namePrefix}-jetstream`;
  const acrossHosts = spansHosts(config);
  return Array.from({ length: count }, (_, index) => {
    const spec = declared[index] ?? {};
    const suffix = index === 0 ? "" : `-${index}`;
    const clientPort = spec.clientPort ?? config.server.clientPort + index;
    const monitorPort = spec.monitorPort ?? config.server.monitorPort + index;
    // Across hosts every node has an address (config/validate.ts); on one host, Docker's bind address.
    const bindAddress = acrossHosts && spec.address ? spec.address : config.docker.bindAddress;
    const host = hostAddress(bindAddress);
    const containerName = `${config.docker.namePrefix}-nats${suffix}`;
    const routeHost = acrossHosts ? host : containerName;
    return {
      index,
      suffix,
      serverName: count === 1 ? config.server.name : `${nameStem(config.server.name)}-${index}`,
      containerName,
      volumeName: `${baseVolume}${suffix}`,
      clientPort,
      monitorPort,
      dockerHost: spec.dockerHost,
      host,
      bindAddress,
      clientUrl: `nats://${host}:${clientPort}`,
      monitorUrl: `http://${host}:${monitorPort}`,
      routeUrl: `nats://${routeHost}:${config.cluster.routePort}`,
    };
  });
}

/** "nats-0" -> "nats": a cluster numbers its servers itself, so names stay unique. */
function nameStem(serverName: string): string {
  return serverName.replace(/-\d+$/, "") || serverName;
}

/** Every node's client URL, comma-separated: what the NATS clients accept as one server list. */
export const clientUrls = (config: StackConfig): string => clusterNodes(config).map((n) => n.clientUrl).join(",");
