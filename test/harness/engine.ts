// The real Pulumi engine on throwaway stacks, for test/engine. Each EngineStack is a fresh copy
// of this checkout (what `git ls-files` holds, as a user's clone would; node_modules and .tools
// linked) with its own stack name, Pulumi.<stack>.yaml, local state directory, passphrase, name
// prefix and ports, deployed through the same `npm run up|preview|down|outputs` a user runs
// (tools/pulumi.sh), against the local Docker engine. Images are local stand-ins of the pinned
// ones (test/docker/build-test-image.sh), named by the stack. `dispose()` destroys the stack and
// removes its retained volumes, its state and its copy.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import YAML from "yaml";
import { docker, dockerOk, requireDocker } from "./docker";
import { REPO_ROOT } from "./tools";

const INSTALL_HELP =
  "The engine tests run the real Pulumi CLI: `npm run tools` installs it into .tools/pulumi " +
  "(with NATS_INFRA_PULUMI_PREBUILT naming a directory of prebuilt binaries, e.g. ../shared/pulumi; .ci/run sets it), or install Pulumi yourself.";

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Fails (locally and in CI alike) with how to install what is missing. */
export function requireEngine(): void {
  requireDocker();
  const found = spawnBash(["-c", "source tools/pulumi-env.sh && pulumi version"], REPO_ROOT);
  if (found.status !== 0) throw new Error(`no Pulumi CLI: ${found.stderr.trim() || found.stdout.trim()}. ${INSTALL_HELP}`);
}

function spawnBash(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync("bash", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: nodeFirst(process.env) });
    return { status: 0, stdout, stderr: "" };
  } catch (error: any) {
    return { status: error.status ?? null, stdout: String(error.stdout ?? ""), stderr: String(error.stderr ?? error.message) };
  }
}

/** The node running these tests first on PATH: Pulumi's language host runs `node` from PATH. */
function nodeFirst(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: `${path.dirname(process.execPath)}:${env.PATH ?? ""}` };
}

export type StackImages = { nats: string; surveyor: string; natsBox: string };
let images: StackImages | undefined;

/** The local stand-ins of the pinned images, built once per process (the script skips an up-to-date build). */
export function localImages(): StackImages {
  if (images) return images;
  const build = (kind: string) => {
    const out = execFileSync("bash", [path.join(REPO_ROOT, "test/docker/build-test-image.sh"), kind], { encoding: "utf8", timeout: 180_000, stdio: ["ignore", "pipe", "pipe"] });
    return out.trim().split("\n").pop()!;
  };
  // The Surveyor stand-in is tagged `local` (its binary may be a fallback of another version);
  // a stack names it by the version that binary reports, so the pinned-images policy sees a version.
  const reported = /v?(\d+\.\d+\.\d+\S*)/.exec(execFileSync(path.join(REPO_ROOT, ".tools/bin/nats-surveyor"), ["--version"], { encoding: "utf8" }));
  if (!reported) throw new Error("nats-surveyor --version reports no version");
  const surveyor = `nats-infra-test/nats-surveyor:${reported[1]}`;
  dockerOk(["tag", build("surveyor"), surveyor]);
  images = { nats: build("nats"), surveyor, natsBox: build("nats-box") };
  return images;
}

const LINKED = ["node_modules", ".tools"];

/** Every file of this checkout a clone would have (tracked, plus new files not ignored). */
function checkoutFiles(): string[] {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
    .split("\0")
    // node_modules and .tools are linked, not copied (a checkout may hold them as links, which
    // the ignore rules for the folders do not match).
    .filter((file) => file && !LINKED.includes(file) && existsSync(path.join(REPO_ROOT, file)));
}

/** A copy of this checkout in a new directory (or `dir`), node_modules and .tools linked from this checkout. */
export function copyProject(dir = mkdtempSync(path.join(tmpdir(), "nats-infra-engine-"))): string {
  for (const file of checkoutFiles()) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(REPO_ROOT, file), path.join(dir, file));
  }
  for (const linked of LINKED) if (!existsSync(path.join(dir, linked))) symlinkSync(path.join(REPO_ROOT, linked), path.join(dir, linked));
  return dir;
}

/** The project as committed at `commit` (git archive) in a new directory, node_modules and .tools linked from this checkout. */
export function projectAt(commit: string): { dir: string; files: string[] } {
  const known = spawnBash(["-c", `git cat-file -e ${commit}^{commit}`], REPO_ROOT);
  if (known.status !== 0) throw new Error(`commit ${commit} is not in this clone (a shallow clone? fetch the history: git fetch --unshallow)`);
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-engine-"));
  execFileSync("bash", ["-c", `git archive --format=tar ${commit} | tar -x -C "${dir}"`], { cwd: REPO_ROOT });
  const files = execFileSync("git", ["ls-tree", "-r", "--name-only", commit], { cwd: REPO_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  for (const linked of LINKED) symlinkSync(path.join(REPO_ROOT, linked), path.join(dir, linked));
  return { dir, files };
}

export interface EngineStackOptions {
  /** The project directory to run in (default: a fresh copy of this checkout). */
  dir?: string;
  /** Extra environment for every command (e.g. TS_NODE_PREFER_TS_EXTS for an old checkout). */
  env?: Record<string, string>;
}

export class EngineStack {
  readonly stack: string;
  readonly prefix: string;
  readonly dir: string;
  private env: NodeJS.ProcessEnv;
  private raw: Record<string, unknown>;
  /** Values set with `pulumi config set --secret`, by their path under `nats-infra:`: the plain value and its ciphertext in the stack file. */
  private readonly secrets = new Map<string, { plain: unknown; secure: unknown }>();

  /** `raw`: the `nats-infra:*` config (without the prefix); docker.namePrefix and the images are set here. */
  constructor(raw: Record<string, unknown>, options: EngineStackOptions = {}) {
    const id = randomBytes(3).toString("hex");
    this.stack = `engine-${id}`;
    this.prefix = `nie-${id}`;
    this.dir = options.dir ?? copyProject();
    this.env = nodeFirst({
      ...process.env,
      NATS_INFRA_STACK: this.stack,
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, ".pulumi-state")}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
      ...options.env,
    });
    delete this.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    mkdirSync(path.join(this.dir, ".pulumi-state"), { recursive: true });
    this.raw = {};
    this.setConfig(raw);
  }

  /** The stack's config as deployed next: the given keys, the stack's own name prefix, the local images. */
  setConfig(raw: Record<string, unknown>): void {
    const images = localImages();
    const given = (raw.docker ?? {}) as Record<string, any>;
    this.raw = {
      ...raw,
      docker: {
        ...given,
        namePrefix: this.prefix,
        nats: { image: images.nats, ...given.nats },
        surveyor: { image: images.surveyor, ...given.surveyor },
        natsBox: { image: images.natsBox, ...given.natsBox },
      },
    };
    const config: Record<string, unknown> = Object.fromEntries(Object.entries(structuredClone(this.raw)).map(([key, value]) => [`nats-infra:${key}`, value]));
    // A secret keeps its ciphertext while its value is unchanged, as `pulumi config set` leaves it.
    for (const [dotted, { plain, secure }] of this.secrets) {
      const parts = `nats-infra:${dotted}`.split(".");
      const parent = parts.slice(0, -1).reduce<any>((node, part) => node?.[part], config);
      if (parent && parent[parts.at(-1)!] === plain) parent[parts.at(-1)!] = secure;
    }
    const existing = existsSync(this.stackFile) ? (YAML.parse(readFileSync(this.stackFile, "utf8")) ?? {}) : {};
    writeFileSync(this.stackFile, YAML.stringify({ ...(existing.encryptionsalt ? { encryptionsalt: existing.encryptionsalt } : {}), config }));
  }

  /**
   * Stores the config value at `dotted` (a path under `nats-infra:`, e.g. `cluster.ssh.privateKey`)
   * encrypted, the way a user sets a secret: `pulumi config set --secret --path`, the value on
   * stdin. Creates the stack first if it does not exist yet (as tools/pulumi.sh would).
   */
  async setSecret(dotted: string): Promise<void> {
    const plain = dotted.split(".").reduce<any>((node, part) => node?.[part], this.raw);
    if (typeof plain !== "string") throw new Error(`setSecret: no string at nats-infra:${dotted}`);
    const init = await this.run("bash", ["-c", 'source tools/pulumi-env.sh && { pulumi stack select "$1" 2>/dev/null || pulumi stack init "$1" --secrets-provider passphrase; }', "init", this.stack], 60_000);
    if (init.status !== 0) throw new Error(`pulumi stack init ${this.stack} failed:\n${init.stdout}${init.stderr}`);
    const set = await this.pulumiWithInput(["config", "set", "--secret", "--path", `nats-infra:${dotted}`], plain);
    if (set.status !== 0) throw new Error(`pulumi config set --secret nats-infra:${dotted} failed:\n${set.stdout}${set.stderr}`);
    const written = YAML.parse(readFileSync(this.stackFile, "utf8"));
    const secure = `nats-infra:${dotted}`.split(".").reduce<any>((node, part) => node?.[part], written.config);
    if (typeof secure?.secure !== "string") throw new Error(`pulumi config set --secret left no ciphertext at nats-infra:${dotted} in ${this.stackFile}`);
    this.secrets.set(dotted, { plain, secure });
  }

  get config(): Record<string, unknown> {
    return this.raw;
  }

  /** Sets (or, with undefined, removes) variables of every later command's environment. */
  setEnvironment(changes: Record<string, string | undefined>): void {
    this.env = { ...this.env, ...changes };
    for (const [key, value] of Object.entries(changes)) if (value === undefined) delete this.env[key];
  }

  /** The environment every command of this stack runs with (stack name, state, passphrase). */
  get environment(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  get stackFile(): string {
    return path.join(this.dir, `Pulumi.${this.stack}.yaml`);
  }

  /** `npm run <script> -- <args>` in the stack's project, as a user runs it. */
  npm(script: "up" | "preview" | "down" | "outputs", args: string[] = [], timeoutMs = 600_000): Promise<CommandResult> {
    return this.run("npm", ["run", "-s", script, ...(args.length ? ["--", ...args] : [])], timeoutMs);
  }

  /** The Pulumi CLI itself, on this stack (what tools/pulumi.sh would run, without its wrapping). */
  pulumi(args: string[], timeoutMs = 600_000): Promise<CommandResult> {
    return this.run("bash", ["-c", 'source tools/pulumi-env.sh && exec pulumi "$@"', "pulumi", ...args, "--stack", this.stack, "--non-interactive"], timeoutMs);
  }

  /** The Pulumi CLI with `input` on its stdin (a secret's value never goes on a command line). */
  private pulumiWithInput(args: string[], input: string): Promise<CommandResult> {
    return this.run("bash", ["-c", 'source tools/pulumi-env.sh && exec pulumi "$@"', "pulumi", ...args, "--stack", this.stack, "--non-interactive"], 60_000, input);
  }

  private run(file: string, args: string[], timeoutMs: number, input?: string): Promise<CommandResult> {
    const start = Date.now();
    return new Promise((resolve) => {
      const child = execFile(file, args, { cwd: this.dir, env: this.env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ status, stdout, stderr: stderr || (error && status === null ? String(error) : ""), ms: Date.now() - start });
      });
      child.stdin?.end(input ?? "");
    });
  }

  /** Like `npm`, but throws with the command's output when it fails. */
  async npmOk(script: "up" | "preview" | "down" | "outputs", args: string[] = [], timeoutMs?: number): Promise<CommandResult> {
    const result = await this.npm(script, args, timeoutMs);
    if (result.status !== 0) throw new Error(`npm run ${script} -- ${args.join(" ")} failed (${result.status}) on ${this.stack}:\n${tail(result.stdout + result.stderr)}`);
    return result;
  }

  /** `pulumi preview --expect-no-changes`: throws with the diff when the engine would change anything. */
  async expectNoChanges(): Promise<void> {
    const result = await this.pulumi(["preview", "--expect-no-changes", "--diff"]);
    if (result.status !== 0) throw new Error(`pulumi preview --expect-no-changes failed on ${this.stack} right after an up:\n${tail(result.stdout + result.stderr)}`);
  }

  /** The steps `pulumi preview --json` lists, `same` ones left out. */
  async previewSteps(extra: string[] = []): Promise<PreviewStep[]> {
    const result = await this.pulumi(["preview", "--json", ...extra]);
    if (result.status !== 0) throw new Error(`pulumi preview --json failed on ${this.stack}:\n${tail(result.stdout + result.stderr)}`);
    const steps = (JSON.parse(result.stdout).steps ?? []) as { op: string; urn: string; diffReasons?: string[] }[];
    return steps.filter((step) => step.op !== "same").map((step) => ({ op: step.op, type: step.urn.split("::")[2].split("$").pop()!, name: step.urn.split("::")[3], diffReasons: step.diffReasons ?? [] }));
  }

  /** The stack outputs, secrets shown (`npm run outputs`). */
  async outputs(): Promise<any> {
    return JSON.parse((await this.npmOk("outputs")).stdout);
  }

  /** Docker volumes whose names start with this stack's prefix (the retained JetStream data). */
  volumes(): string[] {
    return dockerOk(["volume", "ls", "-q", "--filter", `name=^${this.prefix}`]).split("\n").filter(Boolean);
  }

  /** The files of the local state backend. */
  stateFiles(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else found.push(file);
      }
    };
    walk(path.join(this.dir, ".pulumi-state"));
    return found;
  }

  readState(): string {
    return this.stateFiles().map((file) => readFileSync(file, "utf8")).join("\n");
  }

  /** Destroys the stack, removes its retained volumes and containers left by a failure, its state and its copy. */
  async dispose(): Promise<void> {
    await this.pulumi(["destroy", "--yes", "--skip-preview"], 300_000);
    for (const kind of ["container", "volume"] as const) {
      const names = docker(kind === "container" ? ["ps", "-aq", "--filter", `name=^${this.prefix}`] : ["volume", "ls", "-q", "--filter", `name=^${this.prefix}`]).stdout.split("\n").filter(Boolean);
      if (names.length) docker(kind === "container" ? ["rm", "-f", "-v", ...names] : ["volume", "rm", "-f", ...names]);
    }
    docker(["network", "rm", `${this.prefix}-net`]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PreviewStep {
  op: string;
  /** The resource type, e.g. `docker:index/container:Container`. */
  type: string;
  /** The resource name, e.g. `nats-nats`. */
  name: string;
  diffReasons: string[];
}

/** The last lines of a long output: what failed is at the end. */
export function tail(text: string, lines = 80): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** Before any engine test: Docker, Pulumi, and the local images. */
export function prepareEngine(): StackImages {
  requireEngine();
  return localImages();
}
