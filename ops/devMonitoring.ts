// `nats-infra dev --monitoring`: NATS Surveyor, the exporter of refused logins and Prometheus as
// processes beside the dev servers, with the stack's generated prometheus.yml and alert rules (the
// files the Prometheus container gets), on 127.0.0.1. Surveyor logs in as the stack's `_surveyor`
// user with the dev server's password (read from its credentials.json), with `--jsz all` as the
// component runs it when monitoring is on. The exporter (tools/auth-events) logs in as
// `_auth_events` with the flags the deployment passes (render/monitoring/authEvents.ts); that user
// exists only with monitoring.prometheus.enabled (config/users.ts), which --monitoring sets for the
// dev server and for this (config/load.ts withPrometheusOn), whatever the stack file says. After
// each applied save the rules are rendered again and Prometheus reloads them (SIGHUP); a change of
// the nodes restarts Surveyor on the new server list, and a change of its flags the exporter.
import { SETPRIV } from "./localServer";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import path from "node:path";
import { nodeCount } from "../config/cluster";
import { endpoints } from "../config/endpoints";
import { parseStackConfig, readStackFile, withPrometheusOn } from "../config/load";
import type { StackConfig } from "../config/schema";
import { AUTH_EVENTS_USER, SURVEYOR_USER } from "../config/users";
import { renderAlertRules } from "../render/monitoring/alerts";
import { authEventsArgs, AuthEventsBinaryMissing, builtAuthEventsBinary } from "../render/monitoring/authEvents";
import { prometheusArgs, renderPrometheusConfig } from "../render/monitoring/prometheusConfig";
import { writePrivate } from "./files";
import { canListen, portHolder } from "./portHolder";

export interface DevMonitoringOptions {
  /** The stack file the dev server runs (read again on refresh()). */
  stackFile: string;
  /** The dev server's state dir: credentials.json is read there, files go to `<stateDir>/monitoring`. */
  stateDir: string;
  surveyorBinary: string;
  prometheusBinary: string;
  /** The exporter of refused logins; default .tools/bin/nats-infra-auth-events. */
  authEventsBinary?: string;
  /** Host ports on 127.0.0.1; default the stack's docker.surveyor.port and monitoring.prometheus.port; 0 picks a free one. */
  surveyorPort?: number;
  prometheusPort?: number;
  log: (line: string) => void;
}

/** Something needed is missing or taken: nothing was started (the dev command's exit 3). */
export class DevMonitoringUnavailable extends Error {}

export const DEV_MONITORING_DIR = "monitoring";
const RULES_FILE = "nats-infra.rules.yml";
const PROMETHEUS_FILE = "prometheus.yml";
const SURVEYOR_FILE = "surveyor.yaml";
/** `_auth_events`'s password, read by the exporter (--password-file) at each connection attempt. */
const AUTH_EVENTS_PASSWORD_FILE = "auth-events-password";
const STOP_TIMEOUT_MS = 10_000;

/** `prometheus` on PATH (Debian's package puts it there), or undefined. */
export function findPrometheus(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

export class DevMonitoring {
  private surveyor?: Child;
  private prometheus?: Child;
  private authEvents?: Child;
  /** The exporter's arguments as it runs them: a change (nodes, users) restarts it. */
  private authEventsArgs: string[] = [];
  private config!: StackConfig;
  private surveyorPort = 0;
  private prometheusPort = 0;
  private authEventsPort = 0;

  private constructor(readonly options: DevMonitoringOptions) {}

  get dir(): string {
    return path.join(this.options.stateDir, DEV_MONITORING_DIR);
  }

  /** `authEvents`: the exporter's /metrics once it runs. */
  get endpoints(): { surveyor: string; prometheus: string; rulesFile: string; logs: string; authEvents?: string } {
    return {
      surveyor: `http://127.0.0.1:${this.surveyorPort}/metrics`,
      prometheus: `http://127.0.0.1:${this.prometheusPort}`,
      rulesFile: path.join(this.dir, RULES_FILE),
      logs: path.join(this.dir, "*.log"),
      ...(this.authEvents ? { authEvents: `http://127.0.0.1:${this.authEventsPort}/metrics` } : {}),
    };
  }

  /** Starts Surveyor, the exporter, then Prometheus; resolves once Prometheus is ready. Stops what it started on failure. */
  static async start(options: DevMonitoringOptions): Promise<DevMonitoring> {
    const monitoring = new DevMonitoring(options);
    monitoring.config = monitoring.readConfig();
    if (!monitoring.config.docker.surveyor.enabled) {
      throw new DevMonitoringUnavailable("--monitoring scrapes Surveyor, which nats-infra:docker.surveyor.enabled turns off in this stack file");
    }
    // Before anything starts: the exporter is not built.
    monitoring.authEventsBinary();
    monitoring.surveyorPort = await choosePort(options.surveyorPort ?? monitoring.config.docker.surveyor.port, "Surveyor", "nats-infra:docker.surveyor.port or --surveyor-port");
    monitoring.prometheusPort = await choosePort(options.prometheusPort ?? monitoring.config.monitoring.prometheus.port, "Prometheus", "nats-infra:monitoring.prometheus.port or --prometheus-port");
    if (monitoring.surveyorPort === monitoring.prometheusPort) throw new DevMonitoringUnavailable(`Surveyor and Prometheus cannot share port ${monitoring.surveyorPort}`);
    mkdirSync(path.join(monitoring.dir, "prometheus-data"), { recursive: true, mode: 0o700 });
    try {
      await monitoring.startSurveyor();
      await monitoring.syncAuthEvents();
      monitoring.writePrometheusFiles();
      await monitoring.startPrometheus();
    } catch (error) {
      await monitoring.stop();
      throw error;
    }
    return monitoring;
  }

  /**
   * After an applied save: the rules and prometheus.yml rendered again and reloaded by Prometheus
   * (SIGHUP), and Surveyor restarted when the servers it surveys changed.
   */
  async refresh(): Promise<void> {
    const previous = this.config;
    this.config = this.readConfig();
    if (JSON.stringify(surveyorEnv(previous)) !== JSON.stringify(surveyorEnv(this.config))) {
      await this.surveyor?.stop();
      await this.startSurveyor();
      this.options.log(`monitoring: Surveyor restarted for ${nodeCount(this.config)} node(s)`);
    }
    try {
      await this.syncAuthEvents();
    } catch (error) {
      // The rules and the other targets are still worth reloading.
      this.options.log(`monitoring: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.writePrometheusFiles();
    this.prometheus?.child.kill("SIGHUP");
    this.options.log(`monitoring: Prometheus reloads ${path.relative(process.cwd(), this.endpoints.rulesFile)}`);
  }

  /** Prometheus first (it would record the others as down), then the exporter and Surveyor; each SIGTERM, SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await this.prometheus?.stop();
    await this.authEvents?.stop();
    await this.surveyor?.stop();
  }

  /** All at once, nothing flushed (a second Ctrl-C). */
  kill(): void {
    for (const child of [this.prometheus, this.authEvents, this.surveyor]) child?.child.kill("SIGKILL");
  }

  private readConfig(): StackConfig {
    // As the dev server runs it with --monitoring (DevServerOptions.monitoring).
    return parseStackConfig(withPrometheusOn(readStackFile(this.options.stackFile))).config;
  }

  /** The dev server's passwords, as it last rendered them. */
  private credentials(): Record<string, { password: string } | undefined> {
    return JSON.parse(readFileSync(path.join(this.options.stateDir, "credentials.json"), "utf8")) as Record<string, { password: string }>;
  }

  private async startSurveyor(): Promise<void> {
    const password = this.credentials()[SURVEYOR_USER]?.password;
    if (!password) throw new Error(`${this.options.stateDir}/credentials.json has no ${SURVEYOR_USER} user; is docker.surveyor.enabled on?`);
    // Its password in a private file (Surveyor reads --config), not in its argv or environment.
    const configFile = path.join(this.dir, SURVEYOR_FILE);
    writePrivate(configFile, JSON.stringify({ password }) + "\n");
    const args = ["--config", configFile, "--jsz", "all", "--addr", "127.0.0.1", "--port", String(this.surveyorPort)];
    // Its own working directory: Surveyor would also read ./nats-surveyor.yaml.
    this.surveyor = new Child("nats-surveyor", this.options.surveyorBinary, args, surveyorEnv(this.config), this.dir, path.join(this.dir, "surveyor.log"));
    this.surveyor.onUnexpectedExit = (how) => this.options.log(`monitoring: nats-surveyor exited (${how}); its log: ${path.join(this.dir, "surveyor.log")}`);
    await this.surveyor.waitUntil(async () => (await fetch(this.endpoints.surveyor)).ok, 30_000, `Surveyor did not serve ${this.endpoints.surveyor}`);
  }

  /**
   * Starts the exporter, or restarts it when its flags changed (nodes, users; its counters then
   * start again at 0, which increase() takes as a reset). Its password goes into a private file;
   * neither its arguments nor its environment hold it.
   */
  private async syncAuthEvents(): Promise<void> {
    const password = this.credentials()[AUTH_EVENTS_USER]?.password;
    if (!password) throw new Error(`${this.options.stateDir}/credentials.json has no ${AUTH_EVENTS_USER} user; was the dev server started with --monitoring?`);
    const binary = this.authEventsBinary();
    const passwordFile = path.join(this.dir, AUTH_EVENTS_PASSWORD_FILE);
    writePrivate(passwordFile, password + "\n");
    if (!this.authEventsPort) this.authEventsPort = await freePort();
    const args = authEventsArgs(this.config, { servers: endpoints(this.config, "local").client, passwordFile, listen: `127.0.0.1:${this.authEventsPort}` });
    if (this.authEvents && !this.authEvents.exited && JSON.stringify(args) === JSON.stringify(this.authEventsArgs)) return;
    await this.authEvents?.stop();
    const log = path.join(this.dir, "auth-events.log");
    // No environment: it would read NATS_URL and the password file's name from there.
    this.authEvents = new Child("nats-infra-auth-events", binary, args, {}, this.dir, log);
    this.authEventsArgs = args;
    this.authEvents.onUnexpectedExit = (how) => this.options.log(`monitoring: nats-infra-auth-events exited (${how}); its log: ${log}`);
    // Connected, not only serving: a login it cannot make shows here rather than as a silent 0.
    const metrics = this.endpoints.authEvents!;
    await this.authEvents.waitUntil(async () => /^nats_infra_auth_events_connected 1$/m.test(await (await fetch(metrics)).text()), 30_000, `the exporter of refused logins did not connect to the dev server as ${AUTH_EVENTS_USER} (${metrics})`);
    this.options.log(`monitoring: the exporter of refused logins serves ${metrics} (as ${AUTH_EVENTS_USER}; its log: ${log})`);
  }

  private authEventsBinary(): string {
    try {
      return builtAuthEventsBinary(this.options.authEventsBinary);
    } catch (error) {
      if (error instanceof AuthEventsBinaryMissing) throw new DevMonitoringUnavailable(error.message);
      throw error;
    }
  }

  private writePrometheusFiles(): void {
    const rulesFile = this.endpoints.rulesFile;
    writePrivate(rulesFile, renderAlertRules(this.config, this.config.monitoring));
    const authEventsTarget = this.authEvents ? `127.0.0.1:${this.authEventsPort}` : undefined;
    writePrivate(path.join(this.dir, PROMETHEUS_FILE), renderPrometheusConfig(this.config, this.config.monitoring, { surveyorTarget: `127.0.0.1:${this.surveyorPort}`, authEventsTarget, rulesFile }));
  }

  private async startPrometheus(): Promise<void> {
    const args = prometheusArgs(this.config.monitoring, { config: path.join(this.dir, PROMETHEUS_FILE), data: path.join(this.dir, "prometheus-data"), listen: `127.0.0.1:${this.prometheusPort}` });
    this.prometheus = new Child("prometheus", this.options.prometheusBinary, args, { PATH: process.env.PATH ?? "" }, this.dir, path.join(this.dir, "prometheus.log"));
    this.prometheus.onUnexpectedExit = (how) => this.options.log(`monitoring: prometheus exited (${how}); its log: ${path.join(this.dir, "prometheus.log")}`);
    await this.prometheus.waitUntil(async () => (await fetch(`${this.endpoints.prometheus}/-/ready`)).ok, 60_000, `Prometheus did not become ready on ${this.endpoints.prometheus}`);
  }
}

/** Surveyor's environment as the component declares it, with the dev servers' local URLs. */
function surveyorEnv(config: StackConfig): Record<string, string> {
  return {
    NATS_SURVEYOR_SERVERS: endpoints(config, "local").client,
    NATS_SURVEYOR_USER: SURVEYOR_USER,
    NATS_SURVEYOR_COUNT: String(nodeCount(config)),
    NATS_SURVEYOR_ACCOUNTS: "true",
  };
}

/** `port` when it is free, a free one for 0; a taken one is named with who holds it. */
async function choosePort(port: number, what: string, key: string): Promise<number> {
  if (port === 0) return freePort();
  if (await canListen(port)) return port;
  const holder = portHolder(port);
  const who = holder ? `${holder.name} (pid ${holder.pid})` : "another program (`ss -ltnp` names it)";
  throw new DevMonitoringUnavailable(`port ${port} (${what}) is taken by ${who}: stop it, or set another ${key} (0 picks a free port)`);
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// setpriv (ops/localServer.ts SETPRIV) gives each child a parent-death signal, as for the nats-servers.
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** One monitoring process: its own process group (a Ctrl-C reaches only the dev command, which stops it), output to its log. */
class Child {
  readonly child: ChildProcess;
  private stopping = false;
  private log: WriteStream;
  private tail = "";
  onUnexpectedExit?: (how: string) => void;

  constructor(
    readonly name: string,
    binary: string,
    args: string[],
    env: Record<string, string>,
    cwd: string,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a", mode: 0o600 });
    const [command, argv] = SETPRIV ? [SETPRIV, ["--pdeathsig", "TERM", "--", binary, ...args]] : [binary, args];
    this.child = spawn(command, argv, { env, cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.add(this.child);
    const keep = (chunk: Buffer) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-4000);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.child.once("exit", (code, signal) => {
      children.delete(this.child);
      this.log.end();
      if (!this.stopping) this.onUnexpectedExit?.(signal ?? `code ${code}`);
    });
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited at start:\n${this.tail}`);
      if (await ready().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${what} within ${timeoutMs / 1000} s:\n${this.tail}`);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
