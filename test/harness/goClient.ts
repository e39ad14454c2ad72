// Runs nats-infra-goclient (test/clients/go, built by `bash tools/build-go-client.sh` into
// .tools/bin), a small nats.go client whose every subcommand is one client call: request, reply,
// sub, JetStream publish and consume, KV and object stores. It prints results as JSON lines on
// stdout and errors as `error: <message>` lines on stderr (exit 1). With `inboxPrefix` set it
// connects with nats.CustomInboxPrefix.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { TOOLS_BIN } from "./tools";

export const GO_CLIENT_BINARY = "nats-infra-goclient";
export const GO_CLIENT_PATH = path.join(TOOLS_BIN, GO_CLIENT_BINARY);
export const GO_CLIENT_BUILD = "bash tools/build-go-client.sh";

export interface GoClientEnv {
  /** One URL or a comma-separated list. */
  url: string;
  user: string;
  password: string;
  /** nats.CustomInboxPrefix; absent means nats.go's default `_INBOX`. */
  inboxPrefix?: string;
  /** NATS_TIMEOUT, a Go duration ("1s"): how long each call waits for an answer (default 2s). */
  callTimeout?: string;
}

export interface GoClientOptions {
  /** Kills the client after this long (default 10 s); the run then reports `timedOut`. */
  timeoutMs?: number;
}

export interface GoClientRun {
  ok: boolean;
  code: number | null;
  /** The stdout lines parsed as JSON, in order. */
  results: Record<string, unknown>[];
  /** The `error: ` lines of stderr, without the prefix. */
  errors: string[];
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** True when the binary is built. */
export const goClientAvailable = () => existsSync(GO_CLIENT_PATH);

/**
 * How a test file without the binary behaves: under CI it must fail (the reason is returned so
 * the test can throw it), locally it is skipped with the command that builds it.
 */
export function goClientMissing(): { missing: false } | { missing: true; message: string; fail: boolean } {
  if (goClientAvailable()) return { missing: false };
  return {
    missing: true,
    message: `${GO_CLIENT_BINARY} is not in .tools/bin; run \`${GO_CLIENT_BUILD}\` (needs Go, or its cache in ~/.cache/nats-infra)`,
    fail: process.env.CI === "true",
  };
}

function binary(): string {
  if (!goClientAvailable()) throw new Error(`${GO_CLIENT_BINARY} is not in .tools/bin; run \`${GO_CLIENT_BUILD}\``);
  return GO_CLIENT_PATH;
}

function childEnv(env: GoClientEnv): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = { ...process.env, NATS_URL: env.url, NATS_USER: env.user, NATS_PASSWORD: env.password };
  delete vars.NATS_INBOX_PREFIX;
  delete vars.NATS_TIMEOUT;
  if (env.inboxPrefix !== undefined) vars.NATS_INBOX_PREFIX = env.inboxPrefix;
  if (env.callTimeout !== undefined) vars.NATS_TIMEOUT = env.callTimeout;
  return vars;
}

const errorLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("error: "))
    .map((line) => line.slice("error: ".length));

function parseResults(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${GO_CLIENT_BINARY} printed a line that is not JSON: ${line}`);
      }
    });
}

/** Runs one subcommand to its end, e.g. `runGoClient(["kv-get", "sessions", "k1"], env)`. */
export function runGoClient(cmd: string[], env: GoClientEnv, options: GoClientOptions = {}): Promise<GoClientRun> {
  const started = Date.now();
  const timeout = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    execFile(binary(), cmd, { env: childEnv(env), timeout, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const timedOut = error !== null && (error as NodeJS.ErrnoException & { killed?: boolean }).killed === true;
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      try {
        resolve({ ok: error === null, code, results: parseResults(stdout), errors: errorLines(stderr), stdout, stderr, timedOut, ms: Date.now() - started });
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}

/** A client running in the background (`sub`, `reply`): its lines as they come, and its end. */
export interface BackgroundGoClient {
  process: ChildProcess;
  /** JSON results printed so far. */
  results: Record<string, unknown>[];
  /** `error: ` lines printed so far. */
  errors: string[];
  /** Resolves once the client printed "ready" (subscribed and flushed); rejects if it ended first. */
  ready: Promise<void>;
  /** Resolves when the client exits on its own (or is killed), with everything it printed. */
  done: Promise<GoClientRun>;
  /** Kills it (SIGKILL) if still running, and waits for its end. */
  stop(): Promise<GoClientRun>;
}

/**
 * Starts a subcommand that runs for a while, e.g. `startGoClient(["sub", "orders.>", "5"], env)`
 * or `["reply", "svc.echo", "pong", "1"]`. Await `ready` before making it receive anything.
 */
export function startGoClient(cmd: string[], env: GoClientEnv, options: GoClientOptions = {}): BackgroundGoClient {
  const started = Date.now();
  const child = spawn(binary(), cmd, { env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const results: Record<string, unknown>[] = [];
  const errors: string[] = [];
  let stdout = "";
  let stderr = "";
  let stdoutRest = "";
  let stderrRest = "";
  let timedOut = false;
  let signalReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    signalReady = resolve;
    failReady = reject;
  });
  // A caller that never awaits `ready` must not get an unhandled rejection.
  ready.catch(() => undefined);

  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk;
    const lines = (stdoutRest + chunk).split("\n");
    stdoutRest = lines.pop()!;
    for (const line of lines.filter((l) => l.trim() !== "")) {
      try {
        results.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        errors.push(`not JSON on stdout: ${line}`);
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk;
    const lines = (stderrRest + chunk).split("\n");
    stderrRest = lines.pop()!;
    for (const line of lines) {
      if (line === "ready") signalReady();
      else if (line.startsWith("error: ")) errors.push(line.slice("error: ".length));
    }
  });

  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 30_000);

  const done = new Promise<GoClientRun>((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      if (stderrRest.startsWith("error: ")) errors.push(stderrRest.slice("error: ".length));
      failReady(new Error(`${GO_CLIENT_BINARY} ${cmd.join(" ")} exited (${code}) before it was ready:\n${stderr}`));
      resolve({ ok: code === 0, code, results, errors, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });

  return {
    process: child,
    results,
    errors,
    ready,
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return done;
    },
  };
}
