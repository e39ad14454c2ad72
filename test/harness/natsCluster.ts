// A real NATS cluster of N nats-server processes on 127.0.0.1, rendered exactly as the product
// renders a cluster for the local target (render/files.ts: nats.conf, auth.conf, cluster.conf
// per node), on free ports. Nodes can be killed (SIGKILL), stopped with lame duck (SIGUSR2) and
// started again on the same files and data, so tests can take one node away at a time.
// Health is read through ops/health.ts, the product's own /healthz reading.
import { loginOf, type Login } from "./login";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeRenderedFiles } from "../../ops/files";
import { clusterNodes } from "../../config/cluster";
import { parseStackConfig } from "../../config/load";
import type { StackConfig } from "../../config/schema";
import { checkHealth, describeHealth } from "../../ops/health";
import type { RestartableNode } from "../../ops/rollingRestart";
import { hashPasswords, renderFiles, routeSecret } from "../../render/files";
import { NATS_CONF_FILE } from "../../render/natsConf";
import { TEST_BCRYPT_COST, waitFor } from "./natsServer";
import { freePort, freePortRange } from "./ports";
import { toolPath } from "./tools";

export interface ClusterNodeProcess {
  index: number;
  serverName: string;
  url: string;
  monitorUrl: string;
  dir: string;
  /** The running process, or undefined while the node is down. */
  process?: ChildProcess;
  /** Everything the node has logged since it was first started. */
  log(): string;
}

export interface RunningCluster {
  config: StackConfig;
  nodes: ClusterNodeProcess[];
  /** Every node's client URL, comma-separated (what credentials hand out). */
  urls: string;
  /**
   * The same URLs as a list, which is what nats.js needs: given one comma-separated string it
   * does not split it, and connects to the last URL only (checked with nats.js 3.4).
   */
  urlList: string[];
  /** Plaintext password of every user: `pw-<user>`. */
  passwords: Record<string, string>;
  /** nats.js login options for one user: name, password, inbox prefix. */
  login(user: string): Login;
  /** SIGKILL: the node is gone at once, no lame duck, nothing flushed. */
  kill(index: number): Promise<void>;
  /** SIGUSR2: lame duck (clients are moved away), then the server exits by itself. */
  stopGracefully(index: number, timeoutMs?: number): Promise<void>;
  /**
   * Starts the node again on its files and data; resolves when its full /healthz (JetStream
   * current) is ok, or with `until: "started"` as soon as it accepts clients with JetStream on.
   */
  start(index: number, until?: StartedWhen): Promise<void>;
  /** Resolves when every running node answers /healthz with ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** "healthy": full /healthz ok (JetStream assets current); "started": /healthz?js-enabled-only ok. */
export type StartedWhen = "healthy" | "started";

export interface ClusterOptions {
  /**
   * Node index -> an existing directory that node runs in: its config files are rendered into it
   * and whatever JetStream data it holds stays, as a growing deployment keeps node 0's volume.
   * The caller owns (and removes) these directories.
   */
  nodeDirs?: Record<number, string>;
  /** What startCluster waits for on every node before it resolves; default "healthy". */
  until?: StartedWhen;
}

async function answers(monitorUrl: string, until: StartedWhen): Promise<boolean> {
  return (await checkHealth(monitorUrl, checkFor(until))).ok;
}

const checkFor = (until: StartedWhen) => (until === "healthy" ? "full" : "js-enabled-only");

/**
 * Starts a cluster of `nodes` servers from `input` (raw stack config without the prefix; its
 * `cluster.nodes` and ports are set here). Resolves when every node reports /healthz ok, which
 * includes a JetStream meta leader (or, with `until: "started"`, when each has JetStream on).
 */
export async function startCluster(input: Record<string, unknown>, nodes = 3, options: ClusterOptions = {}): Promise<RunningCluster> {
  const ports = await Promise.all(Array.from({ length: nodes }, async () => ({ clientPort: await freePort(), monitorPort: await freePort() })));
  const routePort = await freePortRange(nodes);
  const cluster = { ...((input.cluster as object) ?? {}), nodes: ports, routePort };
  const { config } = parseStackConfig({ ...input, cluster });
  const passwords: Record<string, string> = {};
  const hashes = hashPasswords(config, (user) => (passwords[user] ??= `pw-${user}`), TEST_BCRYPT_COST);
  const route = routeSecret("route-test-password", TEST_BCRYPT_COST);
  const root = mkdtempSync(path.join(tmpdir(), "nats-infra-cluster-"));
  const logs: string[] = [];

  const handles: ClusterNodeProcess[] = clusterNodes(config).map((node) => {
    const dir = options.nodeDirs?.[node.index] ?? path.join(root, `node-${node.index}`);
    writeRenderedFiles(dir, renderFiles(config, hashes, { kind: "local", dir }, { node: node.index, route }));
    logs[node.index] = "";
    return {
      index: node.index,
      serverName: node.serverName,
      url: `nats://127.0.0.1:${node.clientPort}`,
      monitorUrl: `http://127.0.0.1:${node.monitorPort}`,
      dir,
      log: () => logs[node.index],
    };
  });

  const launch = (index: number) => {
    const handle = handles[index];
    const child = spawn(toolPath("nats-server"), ["-c", path.join(handle.dir, NATS_CONF_FILE)], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (logs[index] += d));
    child.stderr!.on("data", (d) => (logs[index] += d));
    child.once("exit", () => {
      if (handle.process === child) handle.process = undefined;
    });
    handle.process = child;
  };

  /** Every running node answers ok; the error shows each node's last /healthz answer and log tail. */
  const waitAll = async (until: StartedWhen, timeoutMs: number) => {
    const last: string[] = [];
    await waitFor(
      async () => {
        const up = handles.filter((h) => h.process);
        const results = await Promise.all(up.map((h) => checkHealth(h.monitorUrl, checkFor(until))));
        up.forEach((h, i) => (last[h.index] = describeHealth(results[i])));
        return results.every((r) => r.ok);
      },
      timeoutMs,
      () => `the cluster did not become ${until}:\n${handles.map((h) => `--- node ${h.index} (last /healthz: ${last[h.index] ?? "none"})\n${logs[h.index].slice(-1500)}`).join("\n")}`,
    );
  };

  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

  const kill = async (index: number) => {
    const child = handles[index].process;
    if (!child) return;
    child.kill("SIGKILL");
    await exited(child);
  };
  const running: RunningCluster = {
    config,
    nodes: handles,
    urls: handles.map((h) => h.url).join(","),
    urlList: handles.map((h) => h.url),
    passwords,
    login: (user) => loginOf(config, passwords, user),
    kill,
    async stopGracefully(index, timeoutMs = 60_000) {
      const child = handles[index].process;
      if (!child) return;
      child.kill("SIGUSR2");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`node ${index} did not exit within ${timeoutMs} ms of lame duck:\n${logs[index].slice(-2000)}`)), timeoutMs);
      });
      // The timer is cleared on exit, so a finished stop leaves nothing behind that keeps a process alive.
      await Promise.race([exited(child), late]).finally(() => clearTimeout(timer));
    },
    async start(index, until = "healthy") {
      if (handles[index].process) throw new Error(`node ${index} is already running`);
      launch(index);
      await waitFor(() => answers(handles[index].monitorUrl, until), 60_000, () => `node ${index} did not become ${until}:\n${logs[index].slice(-2000)}`);
    },
    waitHealthy: (timeoutMs = 60_000) => waitAll("healthy", timeoutMs),
    async stop() {
      await Promise.all(handles.map((h) => kill(h.index)));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    handles.forEach((h) => launch(h.index));
    await waitAll(options.until ?? "healthy", 60_000);
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}

/**
 * The cluster's nodes as ops/rollingRestart takes them: restart() is a lame duck stop and a start
 * on the same files and data, resolving once the server accepts clients with JetStream on, so
 * the rolling restart itself waits for (and measures) the catch-up to a full /healthz.
 */
export function restartableNodes(cluster: RunningCluster): RestartableNode[] {
  return cluster.nodes.map((node) => ({
    name: node.serverName,
    monitorUrl: node.monitorUrl,
    restart: async () => {
      await cluster.stopGracefully(node.index);
      await cluster.start(node.index, "started");
    },
  }));
}
