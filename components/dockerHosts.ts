// The Docker hosts a NatsCluster's nodes run on, and what each needs of its own: the nats image
// pulled there and a network for the node containers. The host Pulumi's own Docker provider uses
// (nodes without dockerHost) keeps the resources, names and inputs it always had. Each other
// host (a node's `dockerHost`, docs/cluster.md "Across hosts") gets a Docker provider of its
// own, and its resources carry the host's key in their names, so adding a host adds resources
// and renames none.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { clusterNodes, type ClusterNode } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import { natsImageOf } from "../config/container";
import { createScriptCopy, type RemoteDelivery } from "./remoteConfigCommand";

export interface DockerHost {
  /** Undefined: the host of Pulumi's default Docker provider. */
  dockerHost?: string;
  /** Undefined on the default host: its resources keep the default provider. */
  provider?: docker.Provider;
  natsImage: docker.RemoteImage;
  network: docker.Network;
  /** Another host: how config files get there (over SSH). */
  delivery?: RemoteDelivery;
}

export interface DockerHosts {
  /** The host a node runs on. */
  of(node: ClusterNode): DockerHost;
}

/** The network every node container joins, on each host; the same name everywhere. */
export const networkName = (config: StackConfig): string => `${config.docker.namePrefix}-net`;

/**
 * A readable, stable part of a resource name for a Docker host: `ssh://admin@10.0.0.7:2222` ->
 * `ssh-admin-10-0-0-7-2222`. Stable because resources are named from it: a changed key renames
 * (replaces) them.
 */
export function hostKey(dockerHost: string): string {
  return dockerHost
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * One DockerHost per distinct host of the nodes; nothing on the default host unless a node runs
 * there. `configured`: the configured config directory (component arg or docker.configDir), which
 * is the base on other hosts too.
 */
export function createDockerHosts(name: string, config: StackConfig, configured: string | undefined, parent: pulumi.Resource): DockerHosts {
  const hosts = new Map<string | undefined, DockerHost>();
  const keys = new Map<string, string>();
  for (const node of clusterNodes(config)) {
    if (hosts.has(node.dockerHost)) continue;
    if (node.dockerHost === undefined) {
      hosts.set(undefined, createHost(name, config, parent));
      continue;
    }
    const key = hostKey(node.dockerHost);
    const other = keys.get(key);
    if (other !== undefined) throw new pulumi.RunError(`nats-infra:cluster.nodes: the Docker hosts ${other} and ${node.dockerHost} would share the resource names of ${key}; spell one of them differently`);
    keys.set(key, node.dockerHost);
    hosts.set(node.dockerHost, createHost(name, config, parent, { dockerHost: node.dockerHost, key, configured }));
  }
  return { of: (node) => hosts.get(node.dockerHost)! };
}

function createHost(name: string, config: StackConfig, parent: pulumi.Resource, remote?: { dockerHost: string; key: string; configured?: string }): DockerHost {
  const suffix = remote ? `-${remote.key}` : "";
  const provider = remote ? new docker.Provider(`${name}-docker${suffix}`, { host: remote.dockerHost }, { parent }) : undefined;
  const natsImage = new docker.RemoteImage(`${name}-nats-image${suffix}`, { name: natsImageOf(config), keepLocally: true }, { parent, provider });
  const network = new docker.Network(`${name}-network${suffix}`, { name: networkName(config), driver: "bridge" }, { parent, provider });
  if (!remote) return { natsImage, network };
  const delivery = createScriptCopy(`${name}-apply-script${suffix}`, { config, dockerHost: remote.dockerHost, configured: remote.configured }, parent);
  return { dockerHost: remote.dockerHost, provider, natsImage, network, delivery };
}
