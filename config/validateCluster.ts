// Rules for the `cluster` section that span fields: where nodes run, which ports they take on
// each Docker host, what a cluster across hosts needs, and how many replicas a stream may have.
import { clusterNodes, isClustered, nodeCount, spansHosts } from "./cluster";
import type { StackConfig } from "./schema";
import type { Finding, Path } from "./validate";

export function clusterProblems(config: StackConfig): Finding[] {
  const problems: Finding[] = [];
  const add = (path: Path, message: string) => problems.push({ path, message });
  const declared = Array.isArray(config.cluster.nodes) ? config.cluster.nodes : [];
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
  if (config.cluster.tls && !isClustered(config)) {
    add(["cluster", "tls"], "a single server has no routes; remove cluster.tls or set cluster.nodes");
  }

  // Each Docker host publishes every port once.
  if (isClustered(config)) {
    const taken = new Map<string, string>();
    const claim = (dockerHost: string | undefined, port: number, path: Path, what: string) => {
      const key = `${dockerHost ?? "local"}:${port}`;
      const owner = taken.get(key);
      if (owner) add(path, `port ${port} is already taken on ${dockerHost ?? "this Docker host"} by ${owner}; set another port`);
      else taken.set(key, what);
    };
    for (const node of clusterNodes(config)) {
      const at = (key: string): Path => (declared[node.index] ? ["cluster", "nodes", node.index, key] : ["cluster", "nodes"]);
      claim(node.dockerHost, node.clientPort, at("clientPort"), `node ${node.index}'s client port`);
      claim(node.dockerHost, node.monitorPort, at("monitorPort"), `node ${node.index}'s monitoring port`);
      if (acrossHosts) claim(node.dockerHost, config.cluster.routePort, ["cluster", "routePort"], `node ${node.index}'s route port`);
    }
    // Surveyor runs beside node 0.
    if (config.docker.surveyor.enabled) claim(clusterNodes(config)[0].dockerHost, config.docker.surveyor.port, ["docker", "surveyor", "port"], "Surveyor");
  }
  return problems;
}

export function clusterWarnings(config: StackConfig): Finding[] {
  const count = nodeCount(config);
  if (count > 1 && count % 2 === 0) {
    return [
      {
        path: ["cluster", "nodes"],
        message: `${count} nodes tolerate no more failures than ${count - 1}: JetStream needs a majority (${count / 2 + 1} of ${count}) to keep working. An odd count (${count - 1} or ${count + 1}) uses every node`,
      },
    ];
  }
  return [];
}
