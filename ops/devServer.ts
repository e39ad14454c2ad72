// The dev server: a stack file run on this host with the pinned nats-server, no Docker and no
// Pulumi. It renders for the local target into a state directory (passwords kept across
// restarts), starts one process per node, applies the stack's streams, KV buckets and object
// stores, and applies each edit of the stack file by the same validate-then-reload path the
// Docker deployment uses: a bad edit is refused with the config's errors (or nats-server's) and
// the servers keep serving.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync } from "node:fs";
import path from "node:path";
import { writePrivate, writeRenderedFiles } from "./files";
import { clusterNodes, isClustered } from "../config/cluster";
import { endpoints, type Endpoints } from "../config/endpoints";
import { parseStackConfig, readStackFile, StackConfigError, withPrometheusOn } from "../config/load";
import type { StackConfig } from "../config/schema";
import { jetstreamAdminUser, managedJetStreamAccounts } from "../config/users";
import { explainDenial, parseViolation } from "../config/missingIntent";
import { envNamePart } from "../config/primitives";
import { parseDuration } from "../config/units";
import { restartSettings } from "../config/restartSettings";
import { AUTH_CONF_FILE, CLUSTER_CONF_FILE, NATS_CONF_FILE } from "../render/natsConf";
import { planName } from "../streams/plan";
import { reconcile, type ReconcileResult } from "../streams/reconcile";
import { waitHealthy } from "./health";
import { DEV_STATE_FILE } from "./target";
import { singleServerStreams } from "./jetstreamLayout";
import { LocalServer } from "./localServer";
import { isAlive, neededPorts, refuseTakenPorts, type DevState } from "./devPorts";
import { describeSave, describeStreams, type Restart, type RunningConfig } from "./devSaveReport";
import { localSecrets, renderNodes, type LocalNodeFiles, type LocalSecrets } from "./localRender";
import { rollingRestart } from "./rollingRestart";

export interface DevServerOptions {
  stackFile: string;
  stateDir: string;
  /** The nats-server binary (.tools/bin/nats-server). */
  binary: string;
  log: (line: string) => void;
  /** bcrypt cost of the rendered hashes (10; tests pass less). */
  bcryptCost?: number;
  /** Run as with monitoring.prometheus.enabled (dev --monitoring): the monitoring's users exist. */
  monitoring?: boolean;
}

export type ApplyOutcome = "reloaded" | "restarted" | "unchanged" | "refused" | "back";

/** A port the stack needs is held by another process: nothing was started (exit 3). One line per port. */
export { PortTakenError } from "./devPorts";

export const CREDENTIALS_FILE = "credentials.json";
/** Each node's output, in its directory (the state dir itself for a single server). */
export const SERVER_LOG_FILE = "nats-server.log";
const SECRETS_FILE = "secrets.json";

export class DevServer {
  private config!: StackConfig;
  private nodes: LocalServer[] = [];
  /** fingerprint() of what the servers run now. */
  private applied = "";
  /** What the servers run now: the config and every user's password. */
  private running!: RunningConfig;
  private layout = "";
  /** The last save was refused: a save of the running config again is worth saying. */
  private lastRefused = false;

  private constructor(readonly options: DevServerOptions) {}

  /** Renders, starts every node, waits until the cluster is healthy, applies the streams. */
  static async start(options: DevServerOptions): Promise<DevServer> {
    const server = new DevServer(options);
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    server.refuseIfRunning();
    const config = server.readConfig();
    await refuseTakenPorts(config);
    const rendered = server.render(config);
    server.writeState();
    await server.startNodes(config, rendered);
    await server.applyStreams();
    return server;
  }

  get endpoints(): Endpoints {
    return endpoints(this.config, "local");
  }

  get credentialsFile(): string {
    return path.join(this.options.stateDir, CREDENTIALS_FILE);
  }

  /**
   * Reads the stack file again and applies what changed. A config or server error refuses the
   * edit. "back": the file is what runs again after a refused save (or refused stream change).
   * After "reloaded" or "restarted", `lastChanges` says what the save changed, one line each;
   * a refused stream's line starts with "!".
   */
  async apply(): Promise<ApplyOutcome> {
    const refuse = (error: unknown): ApplyOutcome => {
      this.options.log(`refused: ${error instanceof Error ? error.message : String(error)}\nthe servers keep serving the previous config`);
      this.lastRefused = true;
      return "refused";
    };
    let config: StackConfig;
    let rendered: LocalNodeFiles[];
    try {
      config = this.readConfig();
      // Compared before rendering: rendered files differ on every render (fresh bcrypt salts).
      if (this.fingerprint(config) === this.applied) {
        const back = this.lastRefused;
        this.lastRefused = false;
        return back ? "back" : "unchanged";
      }
      // Ports the running servers do not hold yet must be free before any server is stopped.
      await refuseTakenPorts(config, new Set(neededPorts(this.config).map((p) => p.port)));
      rendered = this.render(config);
    } catch (error) {
      return refuse(error);
    }
    const afterRefusal = this.lastRefused;
    const before = this.running;
    const layout = layoutOf(config);
    let outcome: ApplyOutcome = "reloaded";
    let restart: Restart = "none";
    if (nodePorts(config) !== nodePorts(this.config)) {
      // Another node count or other ports: the servers are started again on the new layout.
      await this.stopNodes();
      await this.startNodes(config, rendered);
      outcome = "restarted";
      restart = "all";
    } else {
      this.install(rendered);
      this.setRunning(config);
      if (layout !== this.layout) {
        // A setting the server cannot reload: one node at a time, each healthy before the next.
        this.layout = layout;
        const grace = lameDuckMs(config) + 15_000;
        await rollingRestart(
          this.nodes.map((node) => ({
            name: node.options.name,
            monitorUrl: node.options.monitorUrl,
            restart: async () => {
              await node.stop(grace);
              await node.start();
            },
          })),
          { log: this.options.log },
        );
        outcome = "restarted";
        restart = "rolling";
      } else {
        for (const node of this.nodes) await node.reload();
      }
    }
    const streams = await this.applyStreams();
    this.lastChanges = [...describeSave(before, this.running, restart), ...describeStreams(streams)];
    // A refused stream change counts as a refusal: saving the file back to what runs is "back".
    this.lastRefused = (streams?.refused.length ?? 0) > 0;
    return this.lastChanges.length === 0 && afterRefusal ? "back" : outcome;
  }

  /** What the last applied save changed ("+ user billing", "restart of nats-0 (jetstream.syncInterval)"). */
  lastChanges: string[] = [];

  /** Lame duck on every node: clients are moved away, then the servers exit. */
  async stop(): Promise<void> {
    await this.stopNodes();
  }

  /** Every node at once, nothing flushed (a second Ctrl-C). */
  async kill(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }

  private readConfig(): StackConfig {
    const raw = readStackFile(this.options.stackFile);
    const { config, warnings } = parseStackConfig(this.options.monitoring ? withPrometheusOn(raw) : raw);
    for (const warning of warnings) this.options.log(`warning: ${warning.path}: ${warning.message}`);
    return config;
  }

  /** Renders every node into its staging dir and validates it with nats-server -t; throws with the server's words. */
  private render(config: StackConfig): LocalNodeFiles[] {
    const previous = this.readSecrets();
    const secrets = localSecrets(config, previous, "local");
    const rendered = renderNodes(config, secrets, this.options.stateDir, "local", this.options.bcryptCost);
    for (const node of rendered) {
      const staging = path.join(node.dir, ".next");
      rmSync(staging, { recursive: true, force: true });
      writeRenderedFiles(staging, node.files);
      const check = spawnSync(this.options.binary, ["-t", "-c", path.join(staging, NATS_CONF_FILE)], { encoding: "utf8" });
      if (check.status !== 0) throw new Error(`nats-server refused the new config of node ${node.index}:\n${(check.stderr || check.stdout).trim()}`);
    }
    this.writeSecrets(secrets);
    return rendered;
  }

  /** What the servers run, as far as an edit can change it: the config and the passwords (rotate changes those). */
  private fingerprint(config: StackConfig): string {
    return JSON.stringify({ config, secrets: this.readSecrets() });
  }

  private setRunning(config: StackConfig): void {
    this.config = config;
    this.applied = this.fingerprint(config);
    const passwords = Object.fromEntries(Object.entries(this.readSecrets()?.credentials ?? {}).map(([user, c]) => [user, c.password]));
    this.running = { config, passwords };
  }

  /** Staged files take the place of the live ones (renames: a server never reads half a file). */
  private install(rendered: LocalNodeFiles[]): void {
    for (const node of rendered) {
      const staging = path.join(node.dir, ".next");
      for (const file of [AUTH_CONF_FILE, CLUSTER_CONF_FILE, NATS_CONF_FILE]) {
        if (existsSync(path.join(staging, file))) renameSync(path.join(staging, file), path.join(node.dir, file));
      }
      rmSync(staging, { recursive: true, force: true });
    }
  }

  private async startNodes(config: StackConfig, rendered: LocalNodeFiles[]): Promise<void> {
    // A cluster would not see a single server's streams (they stay in the state dir, unused):
    // say so instead of starting with empty streams of the same names.
    const stranded = isClustered(config) ? singleServerStreams(this.options.stateDir) : [];
    if (stranded.length) {
      throw new Error(
        `${this.options.stateDir} holds a single server's JetStream streams (${stranded.join(", ")}), which a cluster does not take over. ` +
          `Keep them: run the single server again, back them up (npx nats-infra backup DIR), start the cluster, then restore (npx nats-infra restore DIR --force). ` +
          `Or remove ${path.join(this.options.stateDir, "jetstream")} to start empty.`,
      );
    }
    this.install(rendered);
    this.setRunning(config);
    this.layout = layoutOf(config);
    this.nodes = clusterNodes(config).map((node) => {
      const dir = rendered[node.index].dir;
      const server = new LocalServer({
        name: node.serverName,
        binary: this.options.binary,
        confFile: path.join(dir, NATS_CONF_FILE),
        monitorUrl: `http://127.0.0.1:${node.monitorPort}`,
        logFile: path.join(dir, SERVER_LOG_FILE),
      });
      server.onLine = (line) => this.hintOnDenial(line);
      server.onUnexpectedExit = (code, signal) =>
        this.options.log(`${node.serverName} exited (${signal ?? `code ${code}`}); its log: ${path.join(dir, SERVER_LOG_FILE)}\n${server.lastLines()}`);
      return server;
    });
    try {
      await Promise.all(this.nodes.map((n) => n.start()));
      await waitHealthy(this.nodes.map((n) => ({ name: n.options.name, monitorUrl: n.options.monitorUrl })), 60_000);
    } catch (error) {
      await this.kill();
      // Taken between the check and the start: say which port in one line, not the server's banner.
      if (error instanceof Error && /address already in use/.test(error.message)) await refuseTakenPorts(config);
      throw error;
    }
  }

  private hinted = new Set<string>();

  /** A service denied a JetStream subject: say which intent would grant it (once per user and subject). */
  private hintOnDenial(line: string): void {
    if (!line.includes("Violation")) return;
    const denial = parseViolation(line);
    if (!denial || this.hinted.has(`${denial.user} ${denial.kind} ${denial.subject}`)) return;
    const hint = explainDenial(this.config, denial);
    if (!hint) return;
    this.hinted.add(`${denial.user} ${denial.kind} ${denial.subject}`);
    this.options.log(`hint: ${hint}`);
  }

  private async stopNodes(): Promise<void> {
    const grace = lameDuckMs(this.config) + 15_000;
    await Promise.all(this.nodes.map((n) => n.stop(grace)));
    for (const node of this.nodes) node.close();
  }

  private async applyStreams(): Promise<ReconcileResult | undefined> {
    const accounts = managedJetStreamAccounts(this.config);
    if (accounts.length === 0) return undefined;
    const secrets = this.readSecrets()!;
    const env: NodeJS.ProcessEnv = {};
    for (const account of accounts) {
      const admin = jetstreamAdminUser(account);
      env[`NATS_USER_${envNamePart(account)}`] = admin;
      env[`NATS_PASSWORD_${envNamePart(account)}`] = secrets.credentials[admin].password;
    }
    const { kv, objectStores } = this.config;
    const result = await reconcile(this.config.streams, { url: this.endpoints.client, env, dryRun: false, reportOthers: false, kv, objectStores, log: this.options.log });
    if (result.refused.length) this.options.log(`streams refused (left as they are): ${result.refused.map(planName).join(", ")}`);
    return result;
  }

  private readSecrets(): LocalSecrets | undefined {
    const credentials = path.join(this.options.stateDir, CREDENTIALS_FILE);
    if (!existsSync(credentials)) return undefined;
    const secrets = path.join(this.options.stateDir, SECRETS_FILE);
    return {
      credentials: JSON.parse(readFileSync(credentials, "utf8")),
      routePassword: existsSync(secrets) ? (JSON.parse(readFileSync(secrets, "utf8")) as { routePassword?: string }).routePassword : undefined,
    };
  }

  /**
   * Where `nats-infra <command> --dev` finds this server: its stack file. And the pid of the
   * process running it: what a second dev server names when this one holds a port it needs.
   */
  private writeState(): void {
    const state: DevState = { stackFile: path.resolve(this.options.stackFile), pid: process.pid };
    writePrivate(path.join(this.options.stateDir, DEV_STATE_FILE), JSON.stringify(state, null, 2) + "\n");
  }

  private writeSecrets(secrets: LocalSecrets): void {
    writePrivate(path.join(this.options.stateDir, CREDENTIALS_FILE), JSON.stringify(secrets.credentials, null, 2) + "\n");
    if (secrets.routePassword) writePrivate(path.join(this.options.stateDir, SECRETS_FILE), JSON.stringify({ routePassword: secrets.routePassword }) + "\n");
  }

  /** A server of an earlier dev run still holds the ports: say so instead of failing on them. */
  private refuseIfRunning(): void {
    for (const pidFile of pidFiles(this.options.stateDir)) {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (pid > 0 && isAlive(pid)) {
        throw new Error(`a nats-server of an earlier dev run is still running (pid ${pid}, ${pidFile}); stop it (kill ${pid}) or use another --state-dir`);
      }
    }
  }
}

/** What a reload cannot change: the restart-class settings, the cluster and every node's ports. */
function layoutOf(config: StackConfig): string {
  return JSON.stringify({
    settings: restartSettings(config),
    cluster: { name: config.cluster.name, routePort: config.cluster.routePort },
    nodes: clusterNodes(config).map((n) => [n.serverName, n.clientPort, n.monitorPort]),
  });
}

const lameDuckMs = (config: StackConfig) => parseDuration(config.server.lameDuckDuration)!;

/** Every node's name and ports: when these change, LocalServer's processes are made anew. */
const nodePorts = (config: StackConfig) => JSON.stringify([clusterNodes(config).map((n) => [n.serverName, n.clientPort, n.monitorPort]), config.cluster.routePort]);

function pidFiles(stateDir: string): string[] {
  const candidates = [path.join(stateDir, "nats-server.pid")];
  for (let i = 0; i < 64; i++) candidates.push(path.join(stateDir, `node-${i}`, "nats-server.pid"));
  return candidates.filter((file) => existsSync(file));
}

export { StackConfigError };

/**
 * One user's new password for a running dev server (`nats-infra rotate`), in its state dir's
 * credentials.json: the dev server's render keeps the passwords it finds there, so its next
 * apply renders the new one. Every other entry is left as it is. Returns the previous password.
 */
export function setDevPassword(stateDir: string, user: string, password: string): string {
  const file = path.join(stateDir, CREDENTIALS_FILE);
  const credentials = JSON.parse(readFileSync(file, "utf8")) as Record<string, { password: string }>;
  if (!credentials[user]) throw new Error(`${file} has no entry for ${user}`);
  const previous = credentials[user].password;
  credentials[user] = { ...credentials[user], password };
  writePrivate(file, JSON.stringify(credentials, null, 2) + "\n");
  return previous;
}

/**
 * Asks a running `nats-infra dev` to apply its stack file again, as after a save: it watches
 * that file's directory, and a new modification time is an event for it (inotify IN_ATTRIB).
 * The file's content is untouched; the dev server then re-renders from the stack file and the
 * state dir, validates with nats-server -t and reloads, or refuses and keeps serving.
 */
export function requestDevApply(stackFile: string): void {
  const now = new Date();
  utimesSync(stackFile, now, now);
}
