// Other Docker hosts on this one machine, for the engine tests of a cluster across hosts: each is
// a Docker engine of its own (socket, data root, exec root and bridge under a temporary
// directory) with an sshd in front of it, listening on the host's own address. A stack names it
// the way a user names a real host: `ssh://root@<address>:<port>` as dockerHost, `address` for
// its published ports, a private key and the host's SSH key in cluster.ssh.
//
// Why each host has an address of its own (a bridge with a 10.x address, no cable): all engines
// share this machine's network namespace, and `cluster.routePort` is the same number on every
// host, so two hosts publishing it on one address would collide. A container cannot use
// 127.0.0.1 to reach another host's ports either (that is its own loopback); a bridge address is
// local to the machine, so the host's processes and every engine's containers reach it.
//
// How the SSH login reaches this engine and not the machine's own: Docker's ssh transport runs
// `docker system dial-stdio` at the login, and the config commands run `docker` there too; the
// authorized key's `environment="DOCKER_HOST=unix://<socket>"` (with `PermitUserEnvironment
// DOCKER_HOST` in this sshd's config) points every one of them at this host's socket.
//
// The client side: Pulumi's Docker provider and the rollout's `docker` run the system `ssh`, which
// reads the user's ~/.ssh (shared on this machine, so left alone). `sshClientPath()` gives a
// directory with an `ssh` that runs the real one with a config of its own (the throwaway key, the
// hosts' keys as known hosts); put it first on PATH of the commands that reach the hosts.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { sleep } from "./natsServer";
import { freePort } from "./ports";

const SSHD = "/usr/sbin/sshd";
const INSTALL_HELP = "The multi-host engine tests run a local sshd: `apt-get install -y openssh-server` (Debian).";

export interface OtherHost {
  /** What a stack's node names: ssh://<user>@<address>:<sshPort>. */
  dockerHost: string;
  /** The host's own IP address: its ports publish there, the other nodes reach it there. */
  address: string;
  user: string;
  /** The throwaway private key's contents (cluster.ssh.privateKey). */
  privateKey: string;
  /** The sshd's host key in authorized_keys form (cluster.ssh.hostKeys[address]). */
  hostKey: string;
  /** The engine's own socket, for the test's direct `docker` calls. */
  socket: string;
}

/** Runs a command, throwing with its output when it fails. */
function run(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  const result = spawnSync(file, args, { encoding: "utf8", input: options.input, env: options.env, timeout: options.timeoutMs ?? 60_000 });
  if (result.status !== 0) throw new Error(`${file} ${args.join(" ")} failed (${result.status ?? result.error}):\n${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

/** The second octet of a 10.x.0.0/16 that no route of this machine touches (the host's bridge and its engine's networks). */
function freeTenNet(): number {
  const routes = run("ip", ["-4", "route", "show", "table", "all"]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const octet = 100 + Math.floor(Math.random() * 150);
    if (!routes.includes(`10.${octet}.`)) return octet;
  }
  throw new Error("no free 10.x.0.0/16 for another Docker host");
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms:\n${log()}`);
    await sleep(200);
  }
}

function stopProcess(child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * An IP address of this machine that no other process uses: a bridge with no cable holding
 * 10.x.0.1/24. The machine's processes and every engine's containers reach it (it is local).
 * Also what the machine's own engine publishes node 0 on in a stack across hosts.
 */
export class HostAddress {
  private constructor(
    readonly address: string,
    /** The x of 10.x.0.0/16, the range this address's host keeps for itself. */
    readonly octet: number,
    readonly bridge: string,
  ) {}

  static add(): HostAddress {
    const octet = freeTenNet();
    const host = new HostAddress(`10.${octet}.0.1`, octet, `nih${randomBytes(3).toString("hex")}`);
    run("ip", ["link", "add", host.bridge, "type", "bridge"]);
    try {
      run("ip", ["addr", "add", `${host.address}/24`, "dev", host.bridge]);
      run("ip", ["link", "set", host.bridge, "up"]);
    } catch (error) {
      host.remove();
      throw error;
    }
    return host;
  }

  remove(): void {
    spawnSync("ip", ["link", "del", this.bridge]);
  }
}

/**
 * The machine's own engine's default bridge, as it was before another engine started. Docker
 * 20.10 deletes the interface named `docker0` (its own default bridge's name, whatever `--bridge`
 * says) when an engine with `--default-address-pool` starts again on a data root that still holds
 * its default network and live restore is off: exactly another host coming back after a stop or
 * a crash. Without the bridge, the machine's engine refuses every container on its default
 * network ("could not find bridge docker0") until it restarts. `putBack()` recreates it with its
 * addresses, so the machine is left as found.
 */
export class DefaultBridge {
  static readonly NAME = "docker0";

  private constructor(private readonly addresses: string[] | undefined) {}

  /** The bridge's IPv4 addresses now (undefined: there is none, and none is put back). */
  static remember(): DefaultBridge {
    const shown = spawnSync("ip", ["-j", "-4", "addr", "show", "dev", DefaultBridge.NAME], { encoding: "utf8" });
    if (shown.status !== 0) return new DefaultBridge(undefined);
    const [link] = JSON.parse(shown.stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
    return new DefaultBridge((link?.addr_info ?? []).map((address) => `${address.local}/${address.prefixlen}`));
  }

  static exists(): boolean {
    return spawnSync("ip", ["link", "show", "dev", DefaultBridge.NAME], { stdio: "ignore" }).status === 0;
  }

  /** Recreates the bridge when it was there and is gone; true when it had to. */
  putBack(): boolean {
    if (this.addresses === undefined || DefaultBridge.exists()) return false;
    run("ip", ["link", "add", DefaultBridge.NAME, "type", "bridge"]);
    for (const address of this.addresses) run("ip", ["addr", "add", address, "dev", DefaultBridge.NAME]);
    run("ip", ["link", "set", DefaultBridge.NAME, "up"]);
    return true;
  }
}

/** The throwaway key the stack logs in to every other host with (cluster.ssh.privateKey is one key). */
export class ClientKey {
  readonly dir = mkdtempSync(path.join(tmpdir(), "nih-key-"));
  readonly file = path.join(this.dir, "id_ed25519");
  readonly privateKey: string;
  readonly publicKey: string;

  constructor() {
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nats-infra-test-client", "-f", this.file]);
    this.privateKey = readFileSync(this.file, "utf8");
    this.publicKey = readFileSync(`${this.file}.pub`, "utf8").trim();
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Another Docker host on this machine: an engine and an sshd in front of it. Stop both with dispose(). */
export class SecondHost implements OtherHost {
  readonly dir: string;
  readonly address: string;
  readonly user = userInfo().username;
  readonly socket: string;
  readonly privateKey: string;
  readonly hostKey: string;
  readonly dockerHost: string;
  private readonly hostAddress: HostAddress;
  private dockerd?: ChildProcess;
  private sshd?: ChildProcess;

  private constructor(
    readonly sshPort: number,
    readonly clientKey: ClientKey,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), "nih-"));
    this.hostAddress = HostAddress.add();
    this.address = this.hostAddress.address;
    this.socket = path.join(this.dir, "docker.sock");
    this.dockerHost = `ssh://${this.user}@${this.address}:${sshPort}`;
    const file = (name: string) => path.join(this.dir, name);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nats-infra-test-host", "-f", file("host_key")]);
    this.privateKey = clientKey.privateKey;
    this.hostKey = readFileSync(file("host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
  }

  /** Starts the host (its address, engine and sshd, which lets `clientKey` in); then loads `images` from this machine's engine into it. */
  static async start(clientKey: ClientKey, images: string[] = []): Promise<SecondHost> {
    if (!existsSync(SSHD)) throw new Error(`no ${SSHD}. ${INSTALL_HELP}`);
    const host = new SecondHost(await freePort(), clientKey);
    try {
      await host.startEngine();
      await host.startSshd();
      if (images.length) host.loadImages(images);
    } catch (error) {
      await host.dispose();
      throw error;
    }
    return host;
  }

  /** The engine's environment for this machine's `docker` CLI. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${this.socket}` };
  }

  /** `docker` against this host's engine, directly (not over SSH); throws when it fails. */
  docker(args: string[], timeoutMs = 60_000): string {
    return run("docker", args, { env: this.env, timeoutMs });
  }

  engineAnswers(): boolean {
    return spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { env: this.env, timeout: 10_000 }).status === 0;
  }

  /**
   * Starts (or starts again, after stopEngine) the engine. Its default network uses the host's
   * bridge; the networks a stack creates come from a pool inside the host's own 10.x.0.0/16, so
   * they never overlap another engine's. No iptables rules: published ports go through
   * docker-proxy, which is all a port on the host's address needs, and the machine's own engine
   * keeps its rules to itself.
   */
  async startEngine(): Promise<void> {
    const machineBridge = DefaultBridge.remember();
    const file = (name: string) => path.join(this.dir, name);
    mkdirSync(file("data"), { recursive: true });
    const log = file("dockerd.log");
    writeFileSync(log, "", { flag: "a" });
    this.dockerd = spawn(
      "dockerd",
      [
        "--host", `unix://${this.socket}`,
        "--data-root", file("data"),
        "--exec-root", file("exec"),
        "--pidfile", file("dockerd.pid"),
        "--bridge", this.hostAddress.bridge,
        "--default-address-pool", `base=10.${this.hostAddress.octet}.128.0/17,size=24`,
        "--iptables=false",
        "--ip-masq=false",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.dockerd.stderr!.on("data", (chunk) => writeFileSync(log, chunk, { flag: "a" }));
    try {
      await waitUntil(`dockerd on ${this.socket}`, () => this.engineAnswers(), 60_000, () => readFileSync(log, "utf8").slice(-3000));
    } finally {
      // The engine deletes the bridge while it sets up its networks, before its API answers.
      if (machineBridge.putBack()) writeFileSync(log, `nats-infra test harness: put ${DefaultBridge.NAME} back after this engine deleted it\n`, { flag: "a" });
    }
  }

  /** Stops the engine by its pid (the host is lost: its containers stop with it). */
  async stopEngine(): Promise<void> {
    await stopProcess(this.dockerd, 60_000);
    this.dockerd = undefined;
  }

  /**
   * The host crashes: its engine, the engine's containerd, every container's shim and process
   * are killed (SIGKILL, by pid) at once, so no container gets its stop signal. startEngine()
   * brings the engine back, and its restart policy the containers.
   */
  async crashEngine(): Promise<void> {
    const dockerd = this.dockerd;
    if (!dockerd?.pid) return;
    const ids = this.docker(["ps", "-q"]).split("\n").filter(Boolean);
    const containerPids = ids.map((id) => Number(this.docker(["inspect", "-f", "{{.State.Pid}}", id]))).filter((pid) => pid > 0);
    const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
    const shims = containerPids.map(parentOf);
    // The containerd dockerd started for itself is its child.
    const containerd = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
      try {
        return parentOf(pid) === dockerd.pid;
      } catch {
        return false;
      }
    });
    const exited = new Promise<void>((resolve) => dockerd.once("exit", () => resolve()));
    for (const pid of [dockerd.pid, ...containerd, ...shims, ...containerPids]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone with its parent.
      }
    }
    await exited;
    this.dockerd = undefined;
    // A dead process whose parent died too stays a zombie until init reaps it, and the next
    // dockerd takes a containerd pid that still answers kill(0) for a running one and waits for
    // it in vain: wait until they are gone, and drop the pid file.
    const gone = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].startsWith("Z");
      } catch {
        return true;
      }
    };
    await waitUntil("the crashed engine's processes to go", () => [...containerd, ...shims, ...containerPids].every(gone), 30_000, () => "");
    rmSync(path.join(this.dir, "exec", "containerd", "containerd.pid"), { force: true });
  }

  private async startSshd(): Promise<void> {
    const file = (name: string) => path.join(this.dir, name);
    writeFileSync(file("authorized_keys"), `environment="DOCKER_HOST=unix://${this.socket}" ${this.clientKey.publicKey}\n`, { mode: 0o600 });
    writeFileSync(
      file("sshd_config"),
      [
        `ListenAddress ${this.address}:${this.sshPort}`,
        `HostKey ${file("host_key")}`,
        `AuthorizedKeysFile ${file("authorized_keys")}`,
        `PidFile ${file("sshd.pid")}`,
        "PermitUserEnvironment DOCKER_HOST",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        // The keys live under /tmp, which is writable by all.
        "StrictModes no",
        // Docker's provider opens several connections at once.
        "MaxStartups 100",
        "MaxSessions 100",
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    // sshd refuses to start without its privilege separation directory.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const log = file("sshd.log");
    writeFileSync(log, "", { flag: "a" });
    this.sshd = spawn(SSHD, ["-D", "-e", "-f", file("sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    this.sshd.stderr!.on("data", (chunk) => writeFileSync(log, chunk, { flag: "a" }));
    const client = sshClientPath([this]);
    try {
      await waitUntil(
        `sshd on ${this.address}:${this.sshPort}`,
        () => spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { env: { ...process.env, PATH: `${client.dir}:${process.env.PATH}`, DOCKER_HOST: this.dockerHost }, timeout: 20_000 }).status === 0,
        30_000,
        () => readFileSync(log, "utf8").slice(-3000),
      );
    } finally {
      client.dispose();
    }
  }

  /** Copies images from this machine's engine (docker save | docker load). */
  loadImages(images: string[]): void {
    execFileSync("bash", ["-c", 'docker save "$@" | DOCKER_HOST="$TARGET" docker load -q', "save", ...images], {
      env: { ...process.env, TARGET: `unix://${this.socket}` },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 180_000,
    });
  }

  /** Removes every container and volume whose name starts with `prefix` on this engine. */
  removeByPrefix(prefix: string): void {
    if (!this.engineAnswers()) return;
    const containers = this.docker(["ps", "-aq", "--filter", `name=^${prefix}`]).split("\n").filter(Boolean);
    if (containers.length) this.docker(["rm", "-f", "-v", ...containers]);
    const volumes = this.docker(["volume", "ls", "-q", "--filter", `name=^${prefix}`]).split("\n").filter(Boolean);
    if (volumes.length) this.docker(["volume", "rm", "-f", ...volumes]);
  }

  /** Stops the sshd and the engine by their pids, removes the bridge and the directory. */
  async dispose(): Promise<void> {
    await stopProcess(this.sshd, 10_000);
    await this.stopEngine();
    this.hostAddress.remove();
    // An engine stopped in order unmounts its data root; one that crashed and did not come back
    // leaves its mounts (deepest first).
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")[1]).filter((mount) => mount?.startsWith(`${this.dir}/`));
    for (const mount of mounts.sort().reverse()) spawnSync("umount", ["-l", mount]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A directory holding an `ssh` that runs the system one with its own config: for each host, the
 * throwaway key and its host key as the only known host (checked strictly), no prompt. One
 * connection per host is kept open and shared (ControlMaster), as Docker's ssh transport opens
 * a new login for every API connection.
 */
export function sshClientPath(hosts: SecondHost[]): { dir: string; dispose(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "nih-ssh-"));
  const config: string[] = [];
  const known: string[] = [];
  for (const [i, host] of hosts.entries()) {
    const key = path.join(dir, `key-${i}`);
    writeFileSync(key, host.privateKey, { mode: 0o600 });
    known.push(`[${host.address}]:${host.sshPort} ${host.hostKey}`);
    config.push(`Host ${host.address}`, `  IdentityFile ${key}`);
  }
  writeFileSync(path.join(dir, "known_hosts"), `${known.join("\n")}\n`);
  config.push(
    "Host *",
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${path.join(dir, "known_hosts")}`,
    "  StrictHostKeyChecking yes",
    "  BatchMode yes",
    "  ControlMaster auto",
    `  ControlPath ${path.join(dir, "cm-%C")}`,
    "  ControlPersist 20",
  );
  writeFileSync(path.join(dir, "config"), `${config.join("\n")}\n`);
  const wrapper = path.join(dir, "ssh");
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/ssh -F '${path.join(dir, "config")}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return {
    dir,
    dispose: () => {
      // Ends the shared connections before their files go.
      for (const host of hosts) spawnSync("/usr/bin/ssh", ["-F", path.join(dir, "config"), "-p", String(host.sshPort), "-O", "exit", `${host.user}@${host.address}`], { stdio: "ignore", timeout: 5_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
