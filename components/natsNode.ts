// One nats-server of a NatsCluster: its retained JetStream volume, the command that delivers its
// config files, and its container. A single server is node 0 with the names, inputs and label it
// has always had. In a cluster each node gets its own volume, config directory and container
// (node i: `-i` after every name), and the container's label no longer carries the
// restart-class settings (nodeSettingsKey does, for the config and rollout commands), so that a
// settings change restarts the nodes one at a time instead of replacing all of them at once.
// A node on another Docker host (dockerHost) is declared with that host's Docker provider, and its
// config is delivered over SSH (remoteConfigCommand.ts) into a directory on that host.
import * as docker from "@pulumi/docker";
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { isClustered, type ClusterNode } from "../config/cluster";
import { LABELS } from "../config/container";
import type { StackConfig } from "../config/schema";
import type { PasswordHashes } from "../render/authConf";
import { renderFiles, type RenderedFiles } from "../render/files";
import { renderNatsConf } from "../render/natsConf";
import { createConfigCommand, scriptVariables, secretFilesStdin, type ScriptArgs } from "./configCommand";
import type { RouteSecretOutputs } from "./credentials";
import type { DockerHosts } from "./dockerHosts";
import { natsContainerArgs, natsContainerReadBackArgs } from "./natsContainerSpec";
import { createRemoteConfigCommand, remoteConfigStdin } from "./remoteConfigCommand";
import { containerSpecKey, nodeSettingsKey, restartKey } from "./restartKey";

/** What every node shares. */
export interface NatsNodeContext {
  /** The NatsCluster's name: node resources are `<name>-nats`, `<name>-data`, `<name>-config` (plus `-i` for node i). */
  name: string;
  config: StackConfig;
  image: string;
  /** Node 0's config directory; node i uses `<configDir>-i`. On another Docker host: its delivery's configBase. */
  configDir: string;
  /** Each node's Docker host: its provider, image, network and (another host) config delivery. */
  hosts: DockerHosts;
  /** The network's name as a plain string: the label hashes the container's inputs. */
  networkName: string;
  /** Secret bcrypt hash per user. */
  hashes: Record<string, pulumi.Output<string>>;
  /** In a cluster: the route credentials. */
  route?: RouteSecretOutputs;
  /** In a cluster: the replacement guard (replacementGuard.ts), which the node's config command and container wait for. */
  guard?: pulumi.Resource;
  /** The permissions summary, on node 0's config command only, so preview shows an auth change once. */
  permissions: Record<string, string>;
  parent: pulumi.Resource;
}

export interface NatsNode {
  node: ClusterNode;
  configDir: string;
  volume: docker.Volume;
  /** Local, or remote (over SSH) for a node on another Docker host. */
  configCommand: command.local.Command | command.remote.Command;
  container: docker.Container;
  /** In a cluster: the restart-class settings this node should run (restartKey.ts nodeSettingsKey). */
  settingsKey?: string;
}

/** Node 0 keeps the configured directory; node i gets a sibling `<configDir>-i`. */
export const nodeConfigDir = (configDir: string, node: ClusterNode): string => `${configDir}${node.suffix}`;

/** The same on the node's own Docker host: another host has its own base (remoteConfigCommand.ts remoteConfigBase). */
export const nodeConfigDirOn = (hosts: Pick<DockerHosts, "of">, configDir: string, node: ClusterNode): string =>
  nodeConfigDir(hosts.of(node).delivery?.configBase ?? configDir, node);

/**
 * What a node's container is made of, its label aside: plain names, not the resources' outputs,
 * because the label (and the replacement guard, replacementGuard.ts) hash these inputs.
 */
type ContainerContext = Pick<NatsNodeContext, "config" | "image" | "configDir" | "networkName"> & { hosts: Pick<DockerHosts, "of"> };

function nodeContainerInputs(ctx: ContainerContext, node: ClusterNode) {
  return { config: ctx.config, node, image: ctx.image, configDir: nodeConfigDirOn(ctx.hosts, ctx.configDir, node), volumeName: node.volumeName, networkName: ctx.networkName };
}

/**
 * The hash of a node's declared container spec, without its label: a clustered node's label,
 * and what the replacement guard lists (components/replacementGuard.ts), from this one place.
 */
export function nodeSpecHash(ctx: ContainerContext, node: ClusterNode): string {
  return containerSpecKey(natsContainerArgs({ ...nodeContainerInputs(ctx, node), restartKey: "" }));
}

export function createNatsNode(ctx: NatsNodeContext, node: ClusterNode): NatsNode {
  const { name, config, parent } = ctx;
  const clustered = isClustered(config);
  const host = ctx.hosts.of(node);
  const containerInputs = nodeContainerInputs(ctx, node);
  const { configDir } = containerInputs;
  const volume = createDataVolume(`${name}-data${node.suffix}`, node.volumeName, parent, host.provider);

  const label = clustered ? nodeSpecHash(ctx, node) : restartKey(config, natsContainerArgs({ ...containerInputs, restartKey: "" }));
  const settingsKey = clustered ? nodeSettingsKey(config, node) : undefined;

  const script: ScriptArgs = {
    config,
    natsConf: renderNatsConf(config, { kind: "container" }, node.index),
    configDir,
    containerName: node.containerName,
    image: ctx.image,
    monitorUrl: node.monitorUrl,
    restartKey: label,
    settingsKey,
  };
  const commandName = `${name}-config${node.suffix}`;
  const commandOptions = { parent, dependsOn: [host.natsImage, ...(ctx.guard ? [ctx.guard] : [])] };
  const configCommand = host.delivery
    ? // Everything on stdin, variables too: sshd drops environment requests unless AcceptEnv allows them.
      createRemoteConfigCommand(commandName, { delivery: host.delivery, stdin: secretStdin(ctx, node.index, (files) => remoteConfigStdin(scriptVariables(script), files)) }, commandOptions)
    : createConfigCommand(commandName, { ...script, stdin: secretStdin(ctx, node.index, secretFilesStdin), permissions: node.index === 0 ? ctx.permissions : {} }, commandOptions);

  const container = new docker.Container(
    `${name}-nats${node.suffix}`,
    {
      ...natsContainerArgs({ ...containerInputs, restartKey: label }),
      // Outside the label: cpus and memorySwap as the provider reads them back, and the destroy
      // grace (the provider removes a container by stopping it with this grace and then
      // force-removing it; unset, there is no stop at all and clients are cut, not drained).
      ...natsContainerReadBackArgs(config),
    },
    {
      parent,
      dependsOn: [configCommand, host.natsImage, volume, host.network, ...(ctx.guard ? [ctx.guard] : [])],
      provider: host.provider,
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
function createDataVolume(resourceName: string, volumeName: string, parent: pulumi.Resource, provider: docker.Provider | undefined): docker.Volume {
  return new docker.Volume(
    resourceName,
    {
      name: volumeName,
      // Policies cannot see retainOnDelete, so the volume says so (policies/jetstreamDataRetained.ts).
      labels: [{ label: LABELS.role, value: "jetstream-data" }, { label: LABELS.retainOnDelete, value: "true" }],
    },
    { parent, retainOnDelete: true, provider },
  );
}

/** This node's stdin, from its auth.conf (and in a cluster cluster.conf); secret: they hold hashes and the route password. */
function secretStdin(ctx: NatsNodeContext, index: number, stdinOf: (files: RenderedFiles) => string): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([pulumi.all(ctx.hashes), pulumi.output(ctx.route)]).apply(([hashes, routeSecret]) =>
      stdinOf(renderFiles(ctx.config, hashes as PasswordHashes, { kind: "container" }, { node: index, route: routeSecret })),
    ),
  );
}
