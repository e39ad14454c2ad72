// Rules for the `cluster` section that span fields: where nodes run, which ports they take on
// each Docker host, what a cluster across hosts needs, and how many replicas a stream may have.
import { clusterNodes, declaredNodes, isClustered, nodeCount, nodePortSource, spansHosts } from "./cluster";
import type { StackConfig } from "./schema";
import type { Finding, Path } from "./findings";

const MAX_PORT = 65535;

export function clusterProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  const declared = declaredNodes(config);
  const acrossHosts = spansHosts(config);

  declared.forEach((node, i) => {
    if (acrossHosts && !node.address) {
      add(["cluster", "nodes", i, "address"], "the nodes run on more than one Docker host, so every node needs the IP address the others reach it at");
    }
    if (!acrossHosts && node.address) {
      add(["cluster", "nodes", i, "address"], "only used when nodes run on other Docker hosts (dockerHost); on one host the nodes reach each other over the Docker network. Remove it");
    }
  });
  if (acrossHosts && !config.cluster.tls) {
    add(["cluster", "tls"], "routes between Docker hosts cross the network: give cluster.tls (cert, key and ca files on every host) so they are encrypted and authenticated");
  }
  problems.push(...sshProblems(config));
  if (config.cluster.tls && !isClustered(config)) {
    add(["cluster", "tls"], "a single server has no routes; remove cluster.tls or set cluster.nodes");
  }

  // Each Docker host publishes every port once, and every derived port exists.
  if (isClustered(config)) {
    const taken = new Map<string, string>();
    const claim = (dockerHost: string | undefined, port: number, path: Path, what: string) => {
      const key = `${dockerHost ?? "local"}:${port}`;
      const owner = taken.get(key);
      if (owner) add(path, `port ${port} (${what}) is already taken on ${dockerHost ?? "this Docker host"} by ${owner}; set another port`);
      else taken.set(key, what);
    };
    const nodes = clusterNodes(config);
    for (const node of nodes) {
      for (const [key, kind] of [["clientPort", "client"], ["monitorPort", "monitoring"]] as const) {
        const own = declared[node.index]?.[key] !== undefined;
        // A node without a port of its own takes the server's port plus its index.
        const path: Path = own ? ["cluster", "nodes", node.index, key] : ["server", key];
        const source = nodePortSource(config, node.index, key).key;
        const port = node[key];
        if (port > MAX_PORT) {
          add(path, `node ${node.index}'s ${kind} port would be ${port} (${source}), above ${MAX_PORT}; use a ${key} of at most ${MAX_PORT - (nodes.length - 1)}, or give each node its own in cluster.nodes`);
          continue;
        }
        claim(node.dockerHost, port, path, `node ${node.index}'s ${kind} port, ${source}`);
      }
      if (acrossHosts) {
        // Every node publishes the one cluster.routePort on its host: another port cannot help,
        // only another host can (seen on the real engine, test/engine/multiHost.test.ts).
        const sharer = nodes.find((other) => other.index < node.index && other.dockerHost === node.dockerHost);
        if (sharer) {
          add(
            ["cluster", "nodes", node.index, "dockerHost"],
            `node ${node.index} is on ${node.dockerHost ?? "this Docker host"} with node ${sharer.index}: across Docker hosts every node publishes cluster.routePort (${config.cluster.routePort}) on its host, so each Docker host holds one node; give node ${node.index} a dockerHost of its own`,
          );
        } else claim(node.dockerHost, config.cluster.routePort, ["cluster", "routePort"], `node ${node.index}'s route port`);
      }
    }
    // Surveyor runs beside node 0.
    if (config.docker.surveyor.enabled) claim(nodes[0].dockerHost, config.docker.surveyor.port, ["docker", "surveyor", "port"], "Surveyor, docker.surveyor.port");
  }
  return problems;
}

export function clusterWarnings(config: StackConfig): Finding[] {
  const found: Finding[] = [];
  const count = nodeCount(config);
  if (count > 1 && count % 2 === 0) {
    found.push({
      path: ["cluster", "nodes"],
      message: `${count} nodes tolerate no more failures than ${count - 1}: JetStream needs a majority (${count / 2 + 1} of ${count}) to keep working. An odd count (${count - 1} or ${count + 1}) uses every node`,
    });
  }
  // Once per host: without its key, whoever intercepts the connection receives the config files.
  const hostKeys = config.cluster.ssh?.hostKeys ?? {};
  const warned = new Set<string>();
  declaredNodes(config).forEach((node, i) => {
    const target = node.dockerHost ? dockerHostTarget(node.dockerHost) : undefined;
    if (target?.scheme !== "ssh" || hostKeys[target.host] || warned.has(target.host)) return;
    warned.add(target.host);
    found.push({
      path: ["cluster", "nodes", i, "dockerHost"],
      message: `the SSH host key of ${target.host} is not checked when its config files are delivered; set cluster.ssh.hostKeys["${target.host}"] to its key ("ssh-ed25519 AAAA...", from /etc/ssh/ssh_host_ed25519_key.pub on that host)`,
    });
  });
  return found;
}

/** A dockerHost split up: how the config command logs in (ssh://user@host:port) or what it cannot use (tcp://). */
export interface DockerHostTarget {
  scheme: "ssh" | "tcp";
  /** Without IPv6 brackets: what an SSH client dials. */
  host: string;
  /** Undefined: the scheme's default (22 for ssh). */
  port?: number;
  user?: string;
}

/** Parses a dockerHost the schema accepted (`ssh://admin@10.0.0.7`, `ssh://admin@[fd00::7]:2222`, `tcp://10.0.0.7:2376`). */
export function dockerHostTarget(dockerHost: string): DockerHostTarget {
  const url = new URL(dockerHost);
  return {
    scheme: url.protocol === "tcp:" ? "tcp" : "ssh",
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
  };
}

const SSH_PORT = 22;

/**
 * The config of a node on another Docker host is delivered over SSH, so its dockerHost must be
 * an ssh:// URL with the user to log in as; cluster.ssh says how to authenticate. Problems are
 * never reported at cluster.ssh or its privateKey: a problem shows the value found there.
 */
function sshProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  const engines = new Map<string, string>();
  const sshHosts = new Set<string>();
  declaredNodes(config).forEach((node, i) => {
    if (!node.dockerHost) return;
    const path: Path = ["cluster", "nodes", i, "dockerHost"];
    const target = dockerHostTarget(node.dockerHost);
    if (target.scheme === "tcp") {
      add(path, `nats-infra delivers a node's config files over SSH, which a tcp:// Docker host does not offer; use ssh://<user>@${target.host} (Docker and Pulumi's Docker provider reach the engine over SSH too)`);
      return;
    }
    sshHosts.add(target.host);
    if (!target.user) add(path, `give the SSH user, e.g. ssh://admin@${target.host}: the config command logs in as that user, who must be able to run docker there`);
    // One engine, one spelling: two would mean two Docker providers managing the same network and names.
    const engine = `${target.host}:${target.port ?? SSH_PORT}`;
    const spelled = engines.get(engine);
    if (spelled !== undefined && spelled !== node.dockerHost) add(path, `${node.dockerHost} and ${spelled} name the same Docker host; spell it the same way for every node on it`);
    else engines.set(engine, node.dockerHost);
  });

  const ssh = config.cluster.ssh;
  if (!ssh) return problems;
  if (sshHosts.size === 0) add(["cluster", "nodes"], "cluster.ssh is set, but no node has an ssh:// dockerHost; remove cluster.ssh or give the nodes on other hosts their dockerHost");
  if (ssh.privateKey !== undefined && ssh.agentSocket !== undefined) add(["cluster", "ssh", "agentSocket"], "give cluster.ssh.privateKey or cluster.ssh.agentSocket, not both");
  for (const host of Object.keys(ssh.hostKeys ?? {})) {
    if (!sshHosts.has(host)) add(["cluster", "ssh", "hostKeys", host], `no node's dockerHost is on ${host}; the keys are keyed by the host of an ssh:// dockerHost (${[...sshHosts].join(", ") || "none"})`);
  }
  return problems;
}
