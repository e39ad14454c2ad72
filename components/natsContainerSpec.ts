// The nats container's Docker settings as plain data: ports, mounts, limits, healthcheck and
// stop behaviour. Kept apart from the component so tests (and the real-Docker smoke test) can
// read exactly what the component declares.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { clusterNodes, isClustered, spansHosts, type ClusterNode } from "../config/cluster";
import { CONTAINER, CONTAINER_ROUTE_TLS_FILES, containerTlsMounts, goMemLimit, LABELS } from "../config/container";
import { dockerCpus, memoryWithoutSwap } from "../config/dockerReadBack";
import type { StackConfig } from "../config/schema";
import { parseDuration } from "../config/units";
import { NATS_CONF_FILE } from "../render/natsConf";

/**
 * Name other containers on the network use to reach the server. In a cluster every node carries
 * it, so it names the cluster (Docker's DNS answers with every running node); nats-infra's own
 * sidecars list the nodes by container name instead (components/sidecars.ts).
 */
export const NATS_NETWORK_ALIAS = "nats";

export interface NatsContainerInputs {
  config: StackConfig;
  /** Which server (config/cluster.ts): its container name, host ports and bind address. Default: node 0, the single server. */
  node?: ClusterNode;
  image: string;
  /** Host directory with this node's nats.conf, auth.conf (and cluster.conf), mounted read-only. */
  configDir: string;
  volumeName: pulumi.Input<string>;
  networkName: pulumi.Input<string>;
  /** The label's value: restartKey (single server) or containerSpecKey (cluster node). */
  restartKey: string;
}


/**
 * Seconds the Docker provider waits for the server to stop when it deletes or replaces the
 * container: the lame duck duration plus the same 15 s margin as `stopTimeout` (with many clients
 * the server spreads their closing over the whole duration, then exits). The provider ignores
 * `stopTimeout` here: its delete stops the container with `destroy_grace_seconds` as the timeout,
 * 0 when unset, which means the stop signal and, at once, SIGKILL (terraform-provider-docker
 * v4.5.0 resource_docker_container_funcs.go, resourceDockerContainerDelete, lines 1085-1097).
 * Kept out of `natsContainerArgs`, whose result is part of the restart key; set it as the
 * Container's `destroyGraceSeconds` input, which the provider updates in place (not ForceNew).
 * A delete reads it from the state of the container being deleted, so it protects the deletes
 * after the `up` that recorded it. test/engine/readme.test.ts runs this delete path (`npm run down`) on the real engine.
 */
export function destroyGraceSeconds(config: StackConfig): number {
  return Math.ceil(parseDuration(config.server.lameDuckDuration)! / 1000) + 15;
}

/**
 * Inputs declared beside `natsContainerArgs` (whose result the label hashes, so a change there
 * would replace every deployed container): `cpus` and `memorySwap` exactly as the provider reads
 * them back (config/dockerReadBack.ts), so `pulumi preview` after an `up` finds nothing to change,
 * and the destroy grace. The label keeps hashing the declared number of CPUs and the memory.
 */
export function natsContainerReadBackArgs(config: StackConfig): Pick<docker.ContainerArgs, "cpus" | "memorySwap" | "destroyGraceSeconds"> {
  const nats = config.docker.nats;
  return { cpus: dockerCpus(nats.cpus), memorySwap: memoryWithoutSwap(containerMemoryMb(config)).memorySwap, destroyGraceSeconds: destroyGraceSeconds(config) };
}

const containerMemoryMb = (config: StackConfig): number => Math.floor(config.docker.nats.memory / 1024 ** 2);

export function natsContainerArgs(inputs: NatsContainerInputs): docker.ContainerArgs {
  const { config } = inputs;
  const node = inputs.node ?? clusterNodes(config)[0];
  const nats = config.docker.nats;
  const healthUrl = `http://127.0.0.1:${CONTAINER.monitorPort}/healthz?js-enabled-only=true`;
  return {
    name: node.containerName,
    image: inputs.image,
    entrypoints: ["nats-server"],
    command: ["--config", `${CONTAINER.configDir}/${NATS_CONF_FILE}`],
    // On one Docker host the route port is not published: the nodes reach each other by
    // container name over the network (config/cluster.ts routeUrl). Across hosts every node
    // publishes it on its address, where the others dial it (with route TLS, config/validateCluster.ts).
    ports: [
      { internal: CONTAINER.clientPort, external: node.clientPort, ip: node.bindAddress, protocol: "tcp" },
      { internal: CONTAINER.monitorPort, external: node.monitorPort, ip: node.bindAddress, protocol: "tcp" },
      ...(spansHosts(config) ? [{ internal: config.cluster.routePort, external: config.cluster.routePort, ip: node.bindAddress, protocol: "tcp" }] : []),
    ],
    // A directory mount (not a file mount) so that atomically renamed config files are seen.
    mounts: [
      { type: "bind", source: inputs.configDir, target: CONTAINER.configDir, readOnly: true },
      ...tlsMounts(config),
    ],
    volumes: [{ volumeName: inputs.volumeName, containerPath: CONTAINER.dataDir }],
    networksAdvanced: [{ name: inputs.networkName, aliases: [NATS_NETWORK_ALIAS] }],
    envs: [`GOMEMLIMIT=${goMemLimit(nats.memory)}`],
    memory: containerMemoryMb(config),
    cpus: String(nats.cpus),
    restart: nats.restart,
    logDriver: "json-file",
    logOpts: { "max-size": nats.logMaxSize, "max-file": String(nats.logMaxFiles) },
    healthcheck: {
      tests: ["CMD", "wget", "-q", "-O", "/dev/null", healthUrl],
      interval: "10s",
      timeout: "5s",
      startPeriod: "10s",
      retries: 3,
    },
    // SIGUSR2 puts nats-server in lame duck mode: clients are moved away gradually, then it exits.
    stopSignal: "SIGUSR2",
    stopTimeout: destroyGraceSeconds(config),
    // Creation waits for a healthy server, so streams and reloads can depend on the container.
    wait: true,
    waitTimeout: 120,
    labels: [
      { label: LABELS.restartKey, value: inputs.restartKey },
      { label: LABELS.role, value: "nats" },
    ],
  };
}

function tlsMounts(config: StackConfig): { type: string; source: string; target: string; readOnly: boolean }[] {
  return hostTlsFiles(config).map(({ source, target }) => ({ type: "bind", source, target, readOnly: true }));
}

/** Every TLS file the server reads, host path and place in the container: client TLS, and in a cluster the route TLS. */
export function hostTlsFiles(config: StackConfig): { source: string; target: string }[] {
  const client = config.tls ? containerTlsMounts(config.tls) : [];
  const routeTls = isClustered(config) ? config.cluster.tls : undefined;
  const route = routeTls ? containerTlsMounts(routeTls, CONTAINER_ROUTE_TLS_FILES) : [];
  return [...client, ...route];
}
