// Turns the inputs of a `docker.Container` (as recorded under Pulumi mocks) into a Docker Engine
// API create request, so a smoke test can start exactly the container the component declares.
// The Engine API is what the Pulumi Docker provider uses too: healthcheck `["CMD", ...]`, mounts
// and network aliases arrive as declared, with no shell quoting in between. An input this file
// does not know fails the test instead of being dropped silently.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseDuration } from "../../config/units";

type Inputs = Record<string, any>;

/**
 * Inputs that only steer the provider (not the container); `wait` is honoured by the caller,
 * `destroyGraceSeconds` on delete (the engine tests delete through the real provider).
 */
const PROVIDER_ONLY = new Set(["wait", "waitTimeout", "destroyGraceSeconds"]);

export interface EngineCreate {
  name: string;
  body: Record<string, unknown>;
  /** Files written into the container after it is created and before it starts, as the provider's `uploads` does. */
  uploads: { file: string; content: string }[];
}

export function engineCreateRequest(inputs: Inputs, overrides: { image: string; extraLabels?: Record<string, string> }): EngineCreate {
  const body: Record<string, any> = { Image: overrides.image, Labels: { ...overrides.extraLabels } };
  let uploads: EngineCreate["uploads"] = [];
  const host: Record<string, any> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(inputs)) {
    switch (key) {
      case "name":
      case "image": // replaced by the local build
        break;
      case "entrypoints":
        body.Entrypoint = value;
        break;
      case "command":
        body.Cmd = value;
        break;
      case "envs":
        body.Env = value;
        break;
      case "labels":
        for (const { label, value: v } of value as { label: string; value: string }[]) body.Labels[label] = v;
        break;
      case "ports":
        body.ExposedPorts = {};
        host.PortBindings = {};
        for (const p of value as { internal: number; external: number; ip: string; protocol: string }[]) {
          const port = `${p.internal}/${p.protocol ?? "tcp"}`;
          body.ExposedPorts[port] = {};
          (host.PortBindings[port] ??= []).push({ HostIp: p.ip, HostPort: String(p.external) });
        }
        break;
      case "mounts":
        host.Mounts = (value as Inputs[]).map((m) => {
          const extra = Object.keys(m).filter((k) => !["type", "source", "target", "readOnly"].includes(k));
          if (extra.length) throw new Error(`containerSpec: mount options ${extra.join(", ")} are not translated yet`);
          return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: Boolean(m.readOnly) };
        });
        break;
      case "volumes":
        host.Binds = (value as Inputs[]).map((v) => `${v.volumeName}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
        break;
      case "networksAdvanced": {
        const networks = value as { name: string; aliases?: string[] }[];
        if (networks.length !== 1) throw new Error("containerSpec: exactly one network is supported");
        host.NetworkMode = networks[0].name;
        body.NetworkingConfig = { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases ?? [] } } };
        break;
      }
      case "memory": // MB in the provider
        host.Memory = Number(value) * 1024 * 1024;
        break;
      case "memorySwap": // MB in the provider; -1 is unlimited
        host.MemorySwap = Number(value) > 0 ? Number(value) * 1024 * 1024 : Number(value);
        break;
      case "cpus":
        host.NanoCpus = Math.round(Number(value) * 1e9);
        break;
      case "restart":
        host.RestartPolicy = { Name: value };
        break;
      case "logDriver":
        host.LogConfig = { ...host.LogConfig, Type: value };
        break;
      case "logOpts":
        host.LogConfig = { ...host.LogConfig, Config: value };
        break;
      case "healthcheck":
        body.Healthcheck = {
          Test: value.tests,
          Interval: nanos(value.interval),
          Timeout: nanos(value.timeout),
          StartPeriod: nanos(value.startPeriod),
          Retries: value.retries,
        };
        break;
      case "stopSignal":
        body.StopSignal = value;
        break;
      case "stopTimeout":
        body.StopTimeout = value;
        break;
      case "uploads":
        uploads = (value as Inputs[]).map((u) => {
          const extra = Object.keys(u).filter((k) => !["file", "content"].includes(k));
          if (extra.length) throw new Error(`containerSpec: upload options ${extra.join(", ")} are not translated yet`);
          return { file: u.file, content: u.content };
        });
        break;
      default:
        if (!PROVIDER_ONLY.has(key)) unknown.push(key);
    }
  }
  if (unknown.length) throw new Error(`containerSpec: the container declares ${unknown.join(", ")}, which this smoke test does not translate yet; add it to test/docker/containerSpec.ts`);
  body.HostConfig = host;
  return { name: inputs.name, body, uploads };
}

function nanos(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const ms = parseDuration(duration);
  if (ms === undefined) throw new Error(`containerSpec: cannot read duration ${duration}`);
  return ms * 1e6;
}

/** One Docker Engine API call over the local socket (DOCKER_HOST=unix://... is honoured). */
export function engine(method: "GET" | "POST" | "DELETE", path: string, body?: unknown, options: { timeoutMs?: number } = {}): Promise<{ status: number; json: any }> {
  const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  if (!host.startsWith("unix://")) throw new Error(`containerSpec: only a unix socket DOCKER_HOST is supported, got ${host}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: host.slice("unix://".length), path, method, headers: payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {}, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? safeJson(text) : undefined }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`Docker Engine API ${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Creates and starts the container; throws with the engine's message on failure. */
export async function createAndStart(create: EngineCreate): Promise<void> {
  const created = await engine("POST", `/containers/create?name=${encodeURIComponent(create.name)}`, create.body);
  if (created.status !== 201) throw new Error(`creating ${create.name} failed (${created.status}): ${JSON.stringify(created.json)}`);
  for (const upload of create.uploads) copyInto(create.name, upload);
  const started = await engine("POST", `/containers/${encodeURIComponent(create.name)}/start`);
  if (started.status !== 204) throw new Error(`starting ${create.name} failed (${started.status}): ${JSON.stringify(started.json)}`);
}

/**
 * Writes one file into a created container, as the provider's uploads do before the start: a tar
 * holding the file at its full path, extracted at / (so missing parent directories are made).
 */
function copyInto(container: string, upload: { file: string; content: string }): void {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-upload-"));
  try {
    const relative = upload.file.replace(/^\/+/, "");
    mkdirSync(path.join(dir, path.dirname(relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), upload.content, { mode: 0o644 });
    const copied = spawnSync("bash", ["-c", 'tar -C "$1" -c "$2" | docker cp - "$3:/"', "copy", dir, relative, container], { encoding: "utf8", timeout: 30_000 });
    if (copied.status !== 0) throw new Error(`copying ${upload.file} into ${container} failed: ${copied.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
