// One nats-server of a NatsCluster: its retained JetStream volume, the command that delivers its
// config files, and its container. A single server is node 0 with the names, inputs and label it
// has always had. In a cluster each node gets its own volume, config directory and container
// (node i: `-i` after every name), and the container's label no longer carries the
// restart-class settings (nodeSettingsKey does, for the config and rollout commands), so that a
// settings change restarts the nodes one at a time instead of replacing all of them at once.
import * as docker from "@pulumi/docker";
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { isClustered, type ClusterNode } from "../config/cluster";
import { LABELS } from "../config/container";
import type { StackConfig } from "../config/schema";
import type { PasswordHashes } from "../render/authConf";
import { renderFiles } from "../render/files";
import { renderNatsConf } from "../render/natsConf";
import { createConfigCommand, secretFilesStdin } from "./configCommand";
import type { RouteSecretOutputs } from "./credentials";
import { destroyGraceSeconds, natsContainerArgs } from "./natsContainerSpec";
import { containerSpecKey, nodeSettingsKey, restartKey } from "./restartKey";

/** What every node shares. */
export interface NatsNodeContext {
  /** The NatsCluster's name: node resources are `<name>-nats`, `<name>-data`, `<name>-config` (plus `-i` for node i). */
  name: string;
  config: StackConfig;
  image: string;
  /** Node 0's config directory; node i uses `<configDir>-i`. */
  configDir: string;
  natsImage: docker.RemoteImage;
  network: docker.Network;
  /** The network's name as a plain string: the label hashes the container's inputs. */
  networkName: string;
  /** Secret bcrypt hash per user. */
  hashes: Record<string, pulumi.Output<string>>;
  /** In a cluster: the route credentials. */
  route?: RouteSecretOutputs;
  /** The permissions summary, on node 0's config command only, so preview shows an auth change once. */
  permissions: Record<string, string>;
  parent: pulumi.Resource;
}

export interface NatsNode {
  node: ClusterNode;
  configDir: string;
  volume: docker.Volume;
  configCommand: command.local.Command;
  container: docker.Container;
  /** In a cluster: the restart-class settings this node should run (restartKey.ts nodeSettingsKey). */
  settingsKey?: string;
}

/** Node 0 keeps the configured directory; node i gets a sibling `<configDir>-i`. */
export const nodeConfigDir = (configDir: string, node: ClusterNode): string => `${configDir}${node.suffix}`;

export function createNatsNode(ctx: NatsNodeContext, node: ClusterNode): NatsNode {
  const { name, config, parent } = ctx;
  const clustered = isClustered(config);
  const configDir = nodeConfigDir(ctx.configDir, node);
  const volume = createDataVolume(`${name}-data${node.suffix}`, node.volumeName, parent);

  // Plain names, not the resources' outputs: the label hashes these inputs.
  const containerInputs = { config, node, image: ctx.image, configDir, volumeName: node.volumeName, networkName: ctx.networkName };
  const spec = natsContainerArgs({ ...containerInputs, restartKey: "" });
  const label = clustered ? containerSpecKey(spec) : restartKey(config, spec);
  const settingsKey = clustered ? nodeSettingsKey(config, node) : undefined;

  const configCommand = createConfigCommand(
    `${name}-config${node.suffix}`,
    {
      config,
      natsConf: renderNatsConf(config, { kind: "container" }, node.index),
      stdin: secretStdin(ctx, node.index),
      configDir,
      containerName: node.containerName,
      image: ctx.image,
      monitorUrl: node.monitorUrl,
      restartKey: label,
      settingsKey,
      permissions: node.index === 0 ? ctx.permissions : {},
    },
    { parent, dependsOn: [ctx.natsImage] },
  );

  const container = new docker.Container(
    `${name}-nats${node.suffix}`,
    {
      ...natsContainerArgs({ ...containerInputs, restartKey: label }),
      // The provider removes a container (destroy, replacement) by stopping it with this grace and
      // then force-removing it; unset, there is no stop at all and clients are cut, not drained.
      // Outside the label: it updates in place (not ForceNew in the provider's schema).
      destroyGraceSeconds: destroyGraceSeconds(config),
    },
    {
      parent,
      dependsOn: [configCommand, ctx.natsImage, volume, ctx.network],
      // Fixed name and host ports: the old container must go before the new one starts.
      deleteBeforeReplace: true,
      // The provider records a healthcheck change without applying it.
      replaceOnChanges: ["healthcheck"],
    },
  );
  return { node, configDir, volume, configCommand, container, settingsKey };
}

/**
 * Retained: neither `pulumi destroy` nor a replacement deletes JetStream data. Recreating the
 * stack picks the same volume up again by name.
 */
function createDataVolume(resourceName: string, volumeName: string, parent: pulumi.Resource): docker.Volume {
  return new docker.Volume(
    resourceName,
    {
      name: volumeName,
      // Policies cannot see retainOnDelete, so the volume says so (policies/jetstreamDataRetained.ts).
      labels: [{ label: LABELS.role, value: "jetstream-data" }, { label: LABELS.retainOnDelete, value: "true" }],
    },
    { parent, retainOnDelete: true },
  );
}

/** auth.conf (and in a cluster cluster.conf) for this node, secret: they hold hashes and the route password. */
function secretStdin(ctx: NatsNodeContext, index: number): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([pulumi.all(ctx.hashes), pulumi.output(ctx.route)]).apply(([hashes, routeSecret]) =>
      secretFilesStdin(renderFiles(ctx.config, hashes as PasswordHashes, { kind: "container" }, { node: index, route: routeSecret })),
    ),
  );
}
