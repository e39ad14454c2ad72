// Which deployment an operations command talks to, resolved once for every command: a deployed
// Pulumi stack (`--stack dev`: its outputs, read through tools/pulumi.sh as `npm run outputs`
// does, and its stack file), a dev server (`--dev [state dir]`, the default when one has run
// here), or explicit `--url`/`--monitor-url`/`--credentials`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { clusterNodes } from "../config/cluster";
import type { Credential } from "../config/credentials";
import { SHARED_INBOX_PREFIX } from "../config/inboxes";
import { endpoints } from "../config/endpoints";
import { parseStackConfig, readStackFile } from "../config/load";
import type { StackConfig } from "../config/schema";
import { jetstreamAdminUser, managedJetStreamAccounts } from "../config/users";

export interface TargetNode {
  /** server_name. */
  name: string;
  clientUrl: string;
  monitorUrl: string;
  /** The node's container, for a deployed stack. */
  container?: { name: string; dockerHost?: string };
}

export interface Target {
  /** How it was found, for messages: `stack dev`, `dev server .nats-infra/dev-server`, `--url`. */
  source: string;
  nodes: TargetNode[];
  /** Every node's client URL, comma-separated. */
  url: string;
  /** Per user, as far as known (a stack's outputs have the services; a dev server every user). */
  credentials: Record<string, Credential>;
  /** Per account with streams: its JetStream admin (the reconciler's user), when known. */
  admins: Record<string, AdminCredential>;
  surveyorUrl?: string;
  /** The stack config, when the target has a stack file. */
  config?: StackConfig;
  /** A dev server's state directory (rendered files, credentials, data, logs); undefined for other targets. */
  stateDir?: string;
  stackFile?: string;
}

/** A JetStream admin's login, with the inbox prefix its replies arrive under (config/inboxes.ts). */
export interface AdminCredential {
  user: string;
  password: string;
  inboxPrefix: string;
}

/**
 * A credential without `inboxPrefix` was handed out before private inboxes (a stack output or a
 * credentials.json from then), by a deployment whose auth.conf still grants its users `_INBOX.>`:
 * the clients' default is the prefix that gets answers there.
 */
export const inboxPrefixOf = (credential: { inboxPrefix?: string }): string => credential.inboxPrefix ?? SHARED_INBOX_PREFIX;

/** A target that cannot be reached or read: exit code 3, or 2 when the flags are wrong. */
export class TargetError extends Error {
  constructor(
    message: string,
    readonly kind: "usage" | "unreachable",
  ) {
    super(message);
  }
}

export const DEFAULT_DEV_STATE_DIR = path.join(".nats-infra", "dev-server");
/** Written by the dev server into its state dir: which stack file it runs. */
export const DEV_STATE_FILE = "dev.json";

export interface TargetFlags {
  stack?: string;
  dev?: string | boolean;
  url?: string;
  "monitor-url"?: string;
  credentials?: string;
}

export const TARGET_HELP = `target (one of; default: the dev server, when one has run here):
  --stack NAME         a deployed stack: its outputs (pulumi stack output, as npm run outputs) and Pulumi.NAME.yaml
  --dev [STATE_DIR]    the dev server (npx nats-infra dev); default state dir ${DEFAULT_DEV_STATE_DIR}
  --url URLS           servers, comma-separated, with --monitor-url URLS and --credentials credentials.json`;

export interface ResolveOptions {
  /**
   * A stack with no outputs (never deployed, or after `npm run down`) is a target too: its nodes
   * come from its config. For `clean`, whose work is what `npm run down` leaves behind.
   */
  undeployed?: boolean;
}

export function resolveTarget(flags: TargetFlags, repoRoot: string, options: ResolveOptions = {}): Target {
  const chosen = [flags.stack !== undefined, flags.dev !== undefined, flags.url !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new TargetError("give one target: --stack, --dev or --url", "usage");
  if (flags.stack !== undefined) return fromStack(flags.stack, repoRoot, options);
  if (flags.url !== undefined) return fromFlags(flags);
  const stateDir = path.resolve(typeof flags.dev === "string" ? flags.dev : DEFAULT_DEV_STATE_DIR);
  if (flags.dev === undefined && !existsSync(path.join(stateDir, DEV_STATE_FILE))) {
    throw new TargetError(`no target: give --stack NAME (a deployed stack), --dev (start one with npx nats-infra dev) or --url`, "usage");
  }
  return fromDevServer(stateDir);
}

function fromDevServer(stateDir: string): Target {
  const stateFile = path.join(stateDir, DEV_STATE_FILE);
  if (!existsSync(stateFile)) throw new TargetError(`${stateDir} is not a dev server's state directory (no ${DEV_STATE_FILE}); start one with npx nats-infra dev`, "usage");
  const { stackFile } = JSON.parse(readFileSync(stateFile, "utf8")) as { stackFile: string };
  const config = parseStackConfig(readStackFile(stackFile)).config;
  const credentials = readJson<Record<string, Credential>>(path.join(stateDir, "credentials.json"));
  const nodes = clusterNodes(config).map((n) => ({ name: n.serverName, clientUrl: `nats://127.0.0.1:${n.clientPort}`, monitorUrl: `http://127.0.0.1:${n.monitorPort}` }));
  return {
    source: `dev server ${path.relative(process.cwd(), stateDir) || stateDir}`,
    nodes,
    url: joinUrls(nodes),
    credentials,
    admins: streamAdmins(credentials, config),
    config,
    stackFile,
    stateDir,
  };
}

/** The outputs of index.ts that a command uses (`pulumi stack output --json --show-secrets`). */
export interface StackOutputs {
  credentials?: Record<string, Credential>;
  /** `inboxPrefix` since private inboxes (absent in the outputs of a stack deployed before). */
  jetstreamAdmins?: Record<string, { user: string; password: string; inboxPrefix?: string }>;
  endpoints?: { client: string; monitor: string; surveyor?: string; nodes?: { server: string; client: string; monitor: string }[] };
}

function fromStack(stack: string, repoRoot: string, options: ResolveOptions): Target {
  if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new TargetError(`--stack ${JSON.stringify(stack)}: a stack name is letters, digits, '.', '_' and '-'`, "usage");
  const stackFile = path.join(repoRoot, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) throw new TargetError(`--stack ${stack}: no ${path.basename(stackFile)} in ${repoRoot}`, "usage");
  const config = parseStackConfig(readStackFile(stackFile)).config;
  const run = spawnSync("bash", [path.join(repoRoot, "tools", "pulumi.sh"), "outputs"], {
    cwd: repoRoot,
    env: { ...process.env, NATS_INFRA_STACK: stack },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) {
    // Removed from Pulumi's state altogether (pulumi stack rm): what it left on the hosts is still in its config.
    if (options.undeployed) return stackTarget(stack, stackFile, config, {}, options);
    throw new TargetError(`cannot read the outputs of stack ${stack}: ${(run.stderr || run.stdout || String(run.error)).trim().split("\n").pop()}`, "unreachable");
  }
  let outputs: StackOutputs;
  try {
    outputs = JSON.parse(run.stdout) as StackOutputs;
  } catch {
    throw new TargetError(`stack ${stack}: its outputs are not JSON; is it deployed (npm run up)?`, "unreachable");
  }
  return stackTarget(stack, stackFile, config, outputs, options);
}

/** A deployed stack's nodes, containers and credentials, from its config and its outputs. */
export function stackTarget(stack: string, stackFile: string, config: StackConfig, outputs: StackOutputs, options: ResolveOptions = {}): Target {
  const declared = clusterNodes(config);
  const deployed = outputs.endpoints ?? (options.undeployed ? endpoints(config, "container") : undefined);
  const listed = deployed?.nodes ?? (deployed ? [{ server: declared[0].serverName, client: deployed.client, monitor: deployed.monitor }] : []);
  if (listed.length === 0) throw new TargetError(`stack ${stack} has no endpoints output; deploy it first (npm run up)`, "unreachable");
  const nodes = listed.map((n, i) => ({
    name: n.server,
    clientUrl: n.client,
    monitorUrl: n.monitor,
    container: declared[i] ? { name: declared[i].containerName, dockerHost: declared[i].dockerHost } : undefined,
  }));
  return {
    source: `stack ${stack}`,
    nodes,
    url: joinUrls(nodes),
    credentials: outputs.credentials ?? {},
    admins: Object.fromEntries(Object.entries(outputs.jetstreamAdmins ?? {}).map(([account, admin]) => [account, { ...admin, inboxPrefix: inboxPrefixOf(admin) }])),
    surveyorUrl: outputs.endpoints?.surveyor,
    config,
    stackFile,
  };
}

function fromFlags(flags: TargetFlags): Target {
  const urls = flags.url!.split(",").filter(Boolean);
  const monitors = (flags["monitor-url"] ?? "").split(",").filter(Boolean);
  if (monitors.length !== urls.length) throw new TargetError(`--monitor-url: give one monitoring URL per server in --url (${urls.length})`, "usage");
  const credentials = flags.credentials ? readJson<Record<string, Credential>>(path.resolve(flags.credentials)) : {};
  const nodes = urls.map((url, i) => ({ name: url, clientUrl: url, monitorUrl: monitors[i] }));
  // A credentials.json (render command, dev server) names these users by their fixed names.
  return { source: "--url", nodes, url: joinUrls(nodes), credentials, admins: streamAdmins(credentials) };
}

/**
 * Per account (when the config is known, those with streams, KV buckets or object stores): its
 * JetStream admin from the credentials.
 */
function streamAdmins(credentials: Record<string, Credential>, config?: StackConfig): Target["admins"] {
  const accounts = config ? new Set(managedJetStreamAccounts(config)) : new Set(Object.values(credentials).map((c) => c.account));
  const admin = jetstreamAdminUser;
  return Object.fromEntries(
    [...accounts].filter((a) => credentials[admin(a)]).map((a) => [a, { user: admin(a), password: credentials[admin(a)].password, inboxPrefix: inboxPrefixOf(credentials[admin(a)]) }]),
  );
}

const joinUrls = (nodes: TargetNode[]) => nodes.map((n) => n.clientUrl).join(",");

function readJson<T>(file: string): T {
  if (!existsSync(file)) throw new TargetError(`no file at ${file}`, "usage");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (error) {
    throw new TargetError(`${file} is not JSON (${(error as Error).message})`, "usage");
  }
}
