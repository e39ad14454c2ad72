// A real NATS cluster of N nats-server processes on 127.0.0.1, rendered exactly as the product
// renders a cluster for the local target (render/files.ts: nats.conf, auth.conf, cluster.conf
// per node), on free ports. Nodes can be killed (SIGKILL), stopped with lame duck (SIGUSR2) and
// started again on the same files and data, so tests can take one node away at a time.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeRenderedFiles } from "../../cli/files";
import { clusterNodes } from "../../config/cluster";
import { parseStackConfig } from "../../config/load";
import type { StackConfig } from "../../config/schema";
import { hashPasswords, renderFiles, routeSecret } from "../../render/files";
import { NATS_CONF_FILE } from "../../render/natsConf";
import { freePort, sleep, TEST_BCRYPT_COST, waitFor } from "./natsServer";
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
  /** Plaintext password of every user: `pw-<user>`. */
  passwords: Record<string, string>;
  /** SIGKILL: the node is gone at once, no lame duck, nothing flushed. */
  kill(index: number): Promise<void>;
  /** SIGUSR2: lame duck (clients are moved away), then the server exits by itself. */
  stopGracefully(index: number, timeoutMs?: number): Promise<void>;
  /** Starts the node again on its files and data; resolves when its /healthz (JetStream current) is ok. */
  start(index: number): Promise<void>;
  /** Resolves when every running node answers /healthz with ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `count` consecutive free ports on 127.0.0.1 (nodes listen for routes at routePort + index). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function healthy(monitorUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${monitorUrl}/healthz`)).ok;
  } catch {
    return false;
  }
}

/**
 * Starts a cluster of `nodes` servers from `input` (raw stack config without the prefix; its
 * `cluster.nodes` and ports are set here). Resolves when every node reports /healthz ok, which
 * includes a JetStream meta leader.
 */
export async function startCluster(input: Record<string, unknown>, nodes = 3): Promise<RunningCluster> {
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
    const dir = path.join(root, `node-${node.index}`);
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

  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

  const running: RunningCluster = {
    config,
    nodes: handles,
    urls: handles.map((h) => h.url).join(","),
    passwords,
    async kill(index) {
      const child = handles[index].process;
      if (!child) return;
      child.kill("SIGKILL");
      await exited(child);
    },
    async stopGracefully(index, timeoutMs = 60_000) {
      const child = handles[index].process;
      if (!child) return;
      child.kill("SIGUSR2");
      await Promise.race([
        exited(child),
        sleep(timeoutMs).then(() => {
          throw new Error(`node ${index} did not exit within ${timeoutMs} ms of lame duck:\n${logs[index].slice(-2000)}`);
        }),
      ]);
    },
    async start(index) {
      if (handles[index].process) throw new Error(`node ${index} is already running`);
      launch(index);
      await waitFor(() => healthy(handles[index].monitorUrl), 60_000, () => `node ${index} did not become healthy:\n${logs[index].slice(-2000)}`);
    },
    async waitHealthy(timeoutMs = 60_000) {
      await waitFor(
        async () => (await Promise.all(handles.filter((h) => h.process).map((h) => healthy(h.monitorUrl)))).every(Boolean),
        timeoutMs,
        () => `the cluster did not become healthy:\n${handles.map((h) => `--- node ${h.index}\n${logs[h.index].slice(-1500)}`).join("\n")}`,
      );
    },
    async stop() {
      await Promise.all(
        handles.map(async (h) => {
          const child = h.process;
          if (!child) return;
          child.kill("SIGKILL");
          await exited(child);
        }),
      );
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    handles.forEach((h) => launch(h.index));
    await running.waitHealthy(60_000);
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
