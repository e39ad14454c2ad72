// When must the nats container be replaced rather than reloaded? When a setting nats-server
// cannot change on reload changes (the restart rows of config/serverOptions.ts), or when the
// container's own spec changes (image, ports, mounts, limits). Both are hashed into a container
// label: a change of either replaces the container (preview says so), and apply-config.sh,
// seeing another key on the running container, installs the files without reloading a server
// that is about to go.
//
// In a cluster the two are kept apart: a settings change in the label would replace every node
// at once (docs/cluster.md). The label hashes the container spec only (containerSpecKey), and
// each node's restart-class settings get a key of their own (nodeSettingsKey) that the config
// command and the rollout command compare with what the node's server was started with.
import { createHash } from "node:crypto";
import type { ClusterNode } from "../config/cluster";
import { LABELS } from "../config/container";
import type { StackConfig } from "../config/schema";
import { restartSettings } from "../config/restartSettings";

export { restartSettings };

export const RESTART_KEY_LABEL = LABELS.restartKey;

/** `container`: the nats container's declared settings (without this label), when known. A single server's label. */
export function restartKey(config: StackConfig, container?: object): string {
  return shortHash({ settings: restartSettings(config), container: container ?? null });
}

/** A cluster node's label: its container's declared settings (without this label) only. */
export function containerSpecKey(container: object): string {
  return shortHash({ container });
}

/**
 * What a cluster node's server reads only when it starts: the restart-class rows, the cluster
 * block's name, route port and route TLS files, and the node's own server_name. A change is
 * applied by restarting the nodes one at a time (cli/rollout.ts), never by replacing them.
 */
export function nodeSettingsKey(config: StackConfig, node: ClusterNode): string {
  const { name, routePort, tls } = config.cluster;
  return shortHash({ settings: restartSettings(config), serverName: node.serverName, cluster: { name, routePort, tls: tls ?? null } });
}

function shortHash(identity: object): string {
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
}
