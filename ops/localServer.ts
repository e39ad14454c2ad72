// One nats-server process on this host, run from a rendered nats.conf: start (and wait until it
// answers), reload (SIGHUP, confirmed by a new config_load_time), lame duck stop (SIGUSR2, the
// server moves its clients away and exits) and kill. The dev server runs its nodes with this.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import path from "node:path";
import { checkHealth } from "./health";

export interface LocalServerOptions {
  /** Server name, for messages. */
  name: string;
  binary: string;
  confFile: string;
  monitorUrl: string;
  /** Where the server's output goes (appended). */
  logFile: string;
}

const LAST_LINES = 40;

/** Servers run in their own process group; should this process die, they must not outlive it. */
const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

/**
 * The exit hook above does not run when this process is killed (SIGKILL, the OOM killer). On
 * Linux, util-linux's setpriv starts the server with a parent-death signal (prctl
 * PR_SET_PDEATHSIG, kept across its exec of nats-server): the kernel sends SIGTERM, nats-server's
 * clean shutdown, the moment this process is gone, however it ended. (Strictly: when the thread
 * that spawned it ends; that is the main thread, unless a worker thread starts servers.)
 */
export const SETPRIV =
  process.platform === "linux"
    ? (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter((dir) => path.isAbsolute(dir))
        .map((dir) => path.join(dir, "setpriv"))
        .find((file) => existsSync(file))
    : undefined;

export class LocalServer {
  private child?: ChildProcess;
  private stopping = false;
  private log?: WriteStream;
  private tail: string[] = [];
  /** Each complete line the server writes (its log), as it comes. */
  onLine?: (line: string) => void;
  private partial = "";
  /** Called when the process exits without having been asked to. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;

  constructor(readonly options: LocalServerOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's last lines of output, for error messages. */
  lastLines(): string {
    return this.tail.join("");
  }

  /** Starts the process; resolves once its monitoring port answers (JetStream may still be catching up). */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new Error(`${this.options.name} is already running`);
    this.stopping = false;
    this.log ??= createWriteStream(this.options.logFile, { flags: "a", mode: 0o600 });
    // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop the server
    // with lame duck instead of nats-server's immediate shutdown on SIGINT.
    const args = ["-c", this.options.confFile];
    const child = SETPRIV
      ? spawn(SETPRIV, ["--pdeathsig", "TERM", "--", this.options.binary, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true })
      : spawn(this.options.binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child = child;
    started.add(child);
    const keep = (chunk: Buffer) => {
      this.log!.write(chunk);
      this.tail.push(chunk.toString());
      if (this.tail.length > LAST_LINES) this.tail.shift();
      if (this.onLine) {
        const lines = (this.partial + chunk.toString()).split("\n");
        this.partial = lines.pop()!;
        for (const line of lines) this.onLine(line);
      }
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.once("exit", (code, signal) => {
      started.delete(child);
      if (this.child === child) this.child = undefined;
      if (!this.stopping) this.onUnexpectedExit?.(code, signal);
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${this.options.name} exited at start:\n${this.lastLines()}`);
      if ((await checkHealth(this.options.monitorUrl, "js-enabled-only")).ok) return;
      await sleep(100);
    }
    this.stopping = true;
    child.kill("SIGKILL");
    throw new Error(`${this.options.name} did not answer on ${this.options.monitorUrl} within ${timeoutMs / 1000} s:\n${this.lastLines()}`);
  }

  /** SIGHUP, then waits until /varz shows a new config_load_time: the new files are in force. */
  async reload(timeoutMs = 15_000): Promise<void> {
    if (!this.child) throw new Error(`${this.options.name} is not running`);
    const before = await configLoadTime(this.options.monitorUrl);
    this.child.kill("SIGHUP");
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await configLoadTime(this.options.monitorUrl).catch(() => before)) !== before) return;
      await sleep(50);
    }
    throw new Error(`${this.options.name} did not reload within ${timeoutMs / 1000} s (it keeps its previous config):\n${this.lastLines()}`);
  }

  /** Lame duck (SIGUSR2): clients are moved away, then the server exits; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    try {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGUSR2");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    } finally {
      this.stopping = false;
    }
  }

  /** At once, nothing flushed (for tests of failures, and a second Ctrl-C). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
    this.stopping = false;
  }

  close(): void {
    this.log?.end();
    this.log = undefined;
  }
}

async function configLoadTime(monitorUrl: string): Promise<string> {
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { config_load_time: string };
  return varz.config_load_time;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
