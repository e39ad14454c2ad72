// Real-Docker helpers: check the engine, build the local nats test image, run a nats container
// the way the NatsCluster component does (config dir bind-mounted read-only, named volume on
// /data, ports on 127.0.0.1 only, SIGUSR2 to stop) and deliver config with components/apply-config.sh.
// Everything a test starts is recorded here and removed by `removeAll()`.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";
import { restartKey } from "../../components/restartKey";
import { parseStackConfig } from "../../config/load";
import type { StackConfig } from "../../config/schema";
import { natsUsers } from "../../config/users";
import { renderFiles } from "../../render/files";
import { SCRIPT_CONTAINER_ENV } from "../../components/configCommand";
import { CONTAINER } from "../../config/container";
import { configLoadTime, sleep, TEST_BCRYPT_COST, waitFor } from "./natsServer";
import { freePort } from "./ports";
import { REPO_ROOT } from "./tools";

const INSTALL_HELP =
  "These tests run a real nats container. Install and start Docker: `apt-get install -y docker.io busybox-static`, " +
  "then run `dockerd` as root in the background (`.ci/run` does both).";

/** Every container and volume a test starts carries this label, so leftovers are easy to find. */
export const TEST_LABEL = "nats-infra.test=1";

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI with an argument list (no shell) and a bounded time. */
export function docker(args: string[], options: { timeoutMs?: number } = {}): CommandResult {
  const result = spawnSync("docker", args, { encoding: "utf8", timeout: options.timeoutMs ?? 60_000 });
  if (result.error) return { status: null, stdout: "", stderr: String(result.error) };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `docker` without blocking the event loop, for slow commands (e.g. `stop`) while clients run. */
export function dockerAsync(args: string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile("docker", args, { encoding: "utf8", timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ status, stdout, stderr: stderr || (error && status === null ? String(error) : "") });
    });
  });
}

/** Like `docker`, but throws with docker's own message when the command fails. */
export function dockerOk(args: string[], options: { timeoutMs?: number } = {}): string {
  const result = docker(args, options);
  if (result.status !== 0) throw new Error(`docker ${args.join(" ")} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

/** Throws (in CI and locally alike) with how to install Docker when no engine answers. */
export function requireDocker(): void {
  const result = docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 15_000 });
  if (result.status !== 0) {
    const why = result.stderr.includes("ENOENT") ? "the docker CLI is not installed" : `no Docker engine answers (${result.stderr.trim()})`;
    throw new Error(`${why}. ${INSTALL_HELP}`);
  }
}

let builtImage: string | undefined;

/** The local stand-in for the pinned nats image; built once, cached by the script. */
export function testImage(): string {
  if (builtImage) return builtImage;
  const result = spawnSync("bash", [path.join(REPO_ROOT, "test/docker/build-test-image.sh")], { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`building the nats test image failed:\n${result.stderr}${result.stdout}`);
  builtImage = result.stdout.trim().split("\n").pop()!;
  return builtImage;
}

const started = { containers: new Set<string>(), volumes: new Set<string>(), networks: new Set<string>(), dirs: new Set<string>() };

export function trackContainer(name: string): void {
  started.containers.add(name);
}
export function trackVolume(name: string): void {
  started.volumes.add(name);
}
export function trackNetwork(name: string): void {
  started.networks.add(name);
}
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  started.dirs.add(dir);
  return dir;
}

/** Removes every container, volume, network and directory recorded above. */
export function removeAll(): void {
  for (const name of started.containers) docker(["rm", "-f", "-v", name]);
  for (const name of started.volumes) docker(["volume", "rm", "-f", name]);
  for (const name of started.networks) docker(["network", "rm", name]);
  for (const dir of started.dirs) rmSync(dir, { recursive: true, force: true });
  for (const set of Object.values(started)) set.clear();
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Environment for components/apply-config.sh, exactly the variables the component's command sets. */
export interface ApplyConfigEnv {
  NATS_CONF: string;
  AUTH_CONF: string;
  CONFIG_DIR: string;
  NATS_CONTAINER: string;
  NATS_IMAGE: string;
  MONITOR_URL: string;
  RESTART_KEY: string;
  CONTAINER_CONFIG_DIR: string;
  RESTART_KEY_LABEL: string;
  VALIDATE_MOUNTS?: string;
  RELOAD_TIMEOUT?: string;
}

/** Runs components/apply-config.sh the way the command resource does: bash, env only, repo root. */
export function runApplyConfig(env: Partial<ApplyConfigEnv>, mode: "apply" | "delete" = "apply"): CommandResult & { ms: number } {
  const start = Date.now();
  const result = spawnSync("bash", ["components/apply-config.sh", ...(mode === "delete" ? ["delete"] : [])], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SCRIPT_CONTAINER_ENV, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - start };
}

/** Renders nats.conf and auth.conf for the container; bcrypt hashes are kept per user (as the
 * provider keeps RandomPassword.bcryptHash), so an unchanged user stays unchanged on reload. */
export class ContainerConfigRenderer {
  readonly passwords: Record<string, string> = {};
  private readonly hashes: Record<string, string> = {};

  render(raw: Record<string, unknown>): { config: StackConfig; natsConf: string; authConf: string; restartKey: string } {
    const { config } = parseStackConfig(raw);
    for (const user of natsUsers(config)) {
      this.passwords[user.user] ??= `pw-${user.user}-${Math.random().toString(36).slice(2, 10)}`;
      this.hashes[user.user] ??= bcrypt.hashSync(this.passwords[user.user], TEST_BCRYPT_COST);
    }
    return { config, ...renderFiles(config, this.hashes, { kind: "container" }), restartKey: restartKey(config) };
  }
}

export interface NatsContainer {
  name: string;
  volume: string;
  configDir: string;
  url: string;
  monitorUrl: string;
  image: string;
  /** Restart key the container was created with (its label). */
  restartKey: string;
  renderer: ContainerConfigRenderer;
  /** Renders `raw` and delivers it with apply-config.sh; `natsConf` replaces the rendered file. */
  apply(raw: Record<string, unknown>, overrides?: Partial<ApplyConfigEnv>): CommandResult & { ms: number };
  configLoadTime(): Promise<string>;
  /** The server's log (all of it, or the last `tail` lines). */
  logs(tail?: number): string;
}

/**
 * Delivers the config for `raw` with apply-config.sh (the container does not exist yet, so the
 * script validates with a throwaway container), then starts the container as the component
 * declares it and waits until /healthz answers.
 */
export async function startNatsContainer(
  raw: Record<string, unknown>,
  options: { stopTimeoutSeconds?: number; /** Reuse this data volume (e.g. of a removed container). */ volume?: string } = {},
): Promise<NatsContainer> {
  const image = testImage();
  const name = uniqueName("nats-infra-test");
  const volume = options.volume ?? `${name}-data`;
  const configDir = path.join(tempDir("nats-infra-docker-"), "config");
  const clientPort = await freePort();
  const monitorPort = await freePort();
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const renderer = new ContainerConfigRenderer();

  const apply = (next: Record<string, unknown>, overrides: Partial<ApplyConfigEnv> = {}) => {
    const rendered = renderer.render(next);
    return runApplyConfig({
      NATS_CONF: rendered.natsConf,
      AUTH_CONF: rendered.authConf,
      CONFIG_DIR: configDir,
      NATS_CONTAINER: name,
      NATS_IMAGE: image,
      MONITOR_URL: monitorUrl,
      RESTART_KEY: rendered.restartKey,
      ...overrides,
    });
  };

  const first = apply(raw);
  if (first.status !== 0) throw new Error(`apply-config.sh could not install the first config:\n${first.stderr}${first.stdout}`);
  const key = renderer.render(raw).restartKey;

  trackContainer(name);
  trackVolume(volume);
  dockerOk([
    "run", "--detach", "--name", name,
    "--label", TEST_LABEL, "--label", `nats-infra.restart-key=${key}`,
    "--publish", `127.0.0.1:${clientPort}:${CONTAINER.clientPort}`,
    "--publish", `127.0.0.1:${monitorPort}:${CONTAINER.monitorPort}`,
    "--mount", `type=bind,source=${configDir},target=${CONTAINER.configDir},readonly`,
    "--volume", `${volume}:${CONTAINER.dataDir}`,
    "--stop-signal", "SIGUSR2",
    "--stop-timeout", String(options.stopTimeoutSeconds ?? 30),
    image, "nats-server", "--config", `${CONTAINER.configDir}/nats.conf`,
  ]);
  const logs = (tail?: number) => {
    const result = docker(["logs", ...(tail ? ["--tail", String(tail)] : []), name]);
    return `${result.stdout}${result.stderr}`;
  };
  await waitFor(async () => (await fetch(`${monitorUrl}/healthz`)).ok, 60_000, () => `the nats container did not become healthy:\n${logs(40)}`);

  return {
    name,
    volume,
    configDir,
    url: `nats://127.0.0.1:${clientPort}`,
    monitorUrl,
    image,
    restartKey: key,
    renderer,
    apply,
    configLoadTime: () => configLoadTime(monitorUrl),
    logs,
  };
}

/** `docker inspect` of one field, e.g. `{{.State.Health.Status}}`. */
export function inspect(name: string, format: string): string {
  return dockerOk(["inspect", "--format", format, name]);
}

/** Waits (bounded) until the container's healthcheck reports `healthy`. */
export async function waitHealthy(name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = inspect(name, "{{if .State.Health}}{{.State.Health.Status}}{{else}}no healthcheck{{end}}");
    if (status === "healthy") return;
    if (status === "no healthcheck" || Date.now() > deadline) {
      const log = inspect(name, "{{json .State.Health}}");
      throw new Error(`container ${name} is not healthy (${status}); health log: ${log}`);
    }
    await sleep(250);
  }
}

let builtSurveyorImage: { image: string; binarySource: string } | undefined;

/**
 * The local stand-in for the pinned Surveyor image (natsio/nats-surveyor's layout, see
 * test/docker/build-test-image.sh) around .tools/bin/nats-surveyor; built once, cached by the
 * script. `binarySource` says which binary it holds (the .source file install-tools.sh wrote).
 */
export function surveyorTestImage(): { image: string; binarySource: string } {
  if (builtSurveyorImage) return builtSurveyorImage;
  const result = spawnSync("bash", [path.join(REPO_ROOT, "test/docker/build-test-image.sh"), "surveyor"], { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`building the Surveyor test image failed:\n${result.stderr}${result.stdout}`);
  const image = result.stdout.trim().split("\n").pop()!;
  const binarySource = dockerOk(["image", "inspect", "--format", '{{index .Config.Labels "nats-infra.test-image.binary-source"}}', image]);
  builtSurveyorImage = { image, binarySource };
  return builtSurveyorImage;
}

/** A command resource's inputs as recorded under Pulumi mocks, secrets unwrapped. */
export interface DeclaredCommand {
  create?: string;
  update?: string;
  delete?: string;
  dir?: string;
  environment?: Record<string, string>;
  stdin?: string;
}

/**
 * Runs one line of a declared command resource the way @pulumi/command runs it: `/bin/sh -c`
 * with its environment added to this process's, its stdin, in its `dir` (else the repository
 * root). `env` overrides entries (e.g. NATS_IMAGE for the local image). Asynchronous, so clients
 * in this process keep working while it runs (a rolling restart takes minutes).
 */
export function runDeclaredCommand(
  declared: DeclaredCommand,
  which: "create" | "update" | "delete",
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult & { ms: number }> {
  const line = declared[which];
  if (!line) throw new Error(`the command declares no ${which}`);
  const start = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      "/bin/sh",
      ["-c", line],
      { cwd: declared.dir ?? REPO_ROOT, env: { ...process.env, ...declared.environment, ...options.env }, encoding: "utf8", timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ status, stdout, stderr: stderr || (error && status === null ? String(error) : ""), ms: Date.now() - start });
      },
    );
    child.stdin!.end(declared.stdin ?? "");
  });
}
