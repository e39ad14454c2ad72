// Starts the real nats-server (from .tools/bin) on 127.0.0.1 with free ports, from config
// rendered for the local target, and stops it. Every test that talks to NATS goes through here.
import { parseWithObservers } from "./probeObservers";
import { loginOf, type Login } from "./login";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { StackConfig, StackConfigInput } from "../../config/schema";
import { writeRenderedFiles } from "../../ops/files";
import { hashPasswords, renderFiles } from "../../render/files";
import { NATS_CONF_FILE } from "../../render/natsConf";
import { freePort } from "./ports";
import { toolPath } from "./tools";
import { terminate } from "./processes";

export interface RunningNats {
  url: string;
  monitorUrl: string;
  dir: string;
  config: StackConfig;
  /** Plaintext password of every user (services and internal users). */
  passwords: Record<string, string>;
  /** nats.js login options for one user: name, password, inbox prefix. */
  login(user: string): Login;
  process: ChildProcess;
  /** Rewrites auth.conf and nats.conf for `next` (same ports and dir) without reloading. */
  rewrite(next: StackConfigInput): StackConfig;
  /** Sends a reload signal and waits until /varz shows a new config_load_time. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** Low bcrypt cost keeps test servers quick to start; production hashes come from Pulumi. */
export const TEST_BCRYPT_COST = 4;

/**
 * Renders `input` (raw stack config, as in Pulumi.<stack>.yaml without the prefix) with fresh
 * ports and a temporary directory, and starts nats-server on it. Passwords are `pw-<user>`
 * unless given.
 */
export async function startNats(input: Record<string, unknown>, options: { passwords?: Record<string, string> } = {}): Promise<RunningNats> {
  const server = binaryPath();
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-test-"));
  const clientPort = await freePort();
  const monitorPort = await freePort();
  const passwords: Record<string, string> = { ...options.passwords };

  const write = (raw: Record<string, unknown>): StackConfig => {
    const serverSection = { ...((raw.server as object) ?? {}), clientPort, monitorPort };
    const config = parseWithObservers({ ...raw, server: serverSection });
    const hashes = hashPasswords(config, (user) => (passwords[user] ??= `pw-${user}`), TEST_BCRYPT_COST);
    writeRenderedFiles(dir, renderFiles(config, hashes, { kind: "local", dir }));
    return config;
  };

  let config = write(input);
  const child = spawn(server, ["-c", path.join(dir, NATS_CONF_FILE)], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  try {
    await waitFor(async () => (await fetch(`${monitorUrl}/healthz`)).ok, 10_000, () => `nats-server did not become healthy:\n${log}`);
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `nats://127.0.0.1:${clientPort}`,
    monitorUrl,
    dir,
    get config() {
      return config;
    },
    passwords,
    login: (user) => loginOf(config, passwords, user),
    process: child,
    rewrite(next) {
      config = write(next as Record<string, unknown>);
      return config;
    },
    async reload() {
      const before = await configLoadTime(monitorUrl);
      child.kill("SIGHUP");
      await waitFor(async () => (await configLoadTime(monitorUrl)) !== before, 5_000, () => `reload did not take effect:\n${log}`);
    },
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function configLoadTime(monitorUrl: string): Promise<string> {
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { config_load_time: string };
  return varz.config_load_time;
}

/** `nats-server -t` on a rendered file: the exit code and the server's own message. */
export function checkConfigFile(file: string): { ok: boolean; output: string } {
  const result = spawnSync(binaryPath(), ["-t", "-c", file], { encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function binaryPath(): string {
  return toolPath("nats-server");
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
