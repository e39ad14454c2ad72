// What `nats-infra clean` deletes, found before anything is deleted so it can be shown and
// confirmed: for a deployed stack its containers (each nats server stopped with lame duck first),
// its config directories and its JetStream data volumes, which `pulumi destroy` keeps on
// purpose (retainOnDelete); for a dev server its state directory. Only what exists is listed,
// and only what is listed is deleted.
import { monitoringVolumeNames } from "../config/monitoring";
import { existsSync, readdirSync, lstatSync, rmSync } from "node:fs";
import path from "node:path";
import { clusterNodes } from "../config/cluster";
import { LABELS } from "../config/container";
import type { StackConfig } from "../config/schema";
import { inspectContainer } from "./docker";
import { checkHealth } from "./health";
import { dockerText } from "./docker";
import { requireDockerHosts, stopContainers, type ContainerNode, type StopResult } from "./lifecycle";

/** A node's config directory; on another Docker host (dockerHost) it is a path there. */
export interface ConfigDir {
  dir: string;
  dockerHost?: string;
}

export interface StackCleanPlan {
  kind: "stack";
  stack: string;
  /** The nats servers' containers that exist, in node order. */
  servers: { node: ContainerNode; state: string }[];
  /** Surveyor and nats-box, when they exist and carry nats-infra's role label. */
  sidecars: { name: string; role: string; state: string; dockerHost?: string }[];
  volumes: { name: string; dockerHost?: string; size?: string }[];
  /** Local directories that exist; on another Docker host every node's directory (whether it is there shows when it is removed). */
  configDirs: ConfigDir[];
  graceSeconds: number;
}

export interface DevCleanPlan {
  kind: "dev";
  stack: string;
  stateDir: string;
  bytes: number;
}

/** `Pulumi.prod.yaml` -> `prod`; another file name without its extension. */
export function stackNameOf(stackFile: string): string {
  const base = path.basename(stackFile);
  return /^Pulumi\.(.+)\.ya?ml$/.exec(base)?.[1] ?? base.replace(/\.ya?ml$/, "");
}

/**
 * Every node's config directory as the component places it: node 0 at `docker.configDir`, else
 * `.nats-infra/<stack>/config` under the directory Pulumi runs in (the stack file's, as
 * components/stackConfig.ts defaultConfigDir resolves it), node i at `<dir>-i`. A node on another
 * Docker host at `remoteBase` (components/remoteConfigCommand.ts remoteConfigBase) with its suffix.
 */
export function configDirsOf(config: StackConfig, stackFile: string, remoteBase?: string): ConfigDir[] {
  const local = config.docker.configDir ?? path.join(path.dirname(stackFile), ".nats-infra", stackNameOf(stackFile), "config");
  return clusterNodes(config).map((node) => (node.dockerHost ? { dir: `${remoteBase}${node.suffix}`, dockerHost: node.dockerHost } : { dir: `${local}${node.suffix}` }));
}

/**
 * The containers beside node 0, as components/sidecars.ts and components/monitoring.ts name and
 * label them: Surveyor, nats-box, Prometheus, Grafana and the exporter of refused logins. Looked
 * for whether or not the config enables them now: one turned off since still belongs to the stack.
 */
export const sidecarsOf = (config: StackConfig) => [
  { name: `${config.docker.namePrefix}-surveyor`, role: "surveyor" },
  { name: `${config.docker.namePrefix}-nats-box`, role: "nats-box" },
  { name: `${config.docker.namePrefix}-prometheus`, role: "prometheus" },
  { name: `${config.docker.namePrefix}-grafana`, role: "grafana" },
  { name: `${config.docker.namePrefix}-auth-events`, role: "auth-events" },
];

/** Prometheus's and Grafana's retained volumes, by name and role label (components/monitoring.ts). */
const monitoringVolumesOf = (config: StackConfig) => {
  const names = monitoringVolumeNames(config);
  return [
    { name: names.prometheus, role: "prometheus-data" },
    { name: names.grafana, role: "grafana-data" },
  ];
};

/** Finds what exists of the stack on its Docker hosts; exit 3 (TargetError) when a host does not answer. */
export async function planStackClean(nodes: ContainerNode[], config: StackConfig, options: { stack: string; configDirs: ConfigDir[]; graceSeconds: number }): Promise<StackCleanPlan> {
  const declared = clusterNodes(config);
  await requireDockerHosts(nodes.map((n) => n.container.dockerHost));
  const states = await Promise.all(nodes.map((n) => inspectContainer(n.container.name, n.container.dockerHost)));
  const failed = states.find((s) => s.problem && s.problem !== "no such container");
  if (failed) throw new Error(`container ${failed.name}: ${failed.problem}`);
  const servers = nodes.flatMap((node, i) => (states[i].state ? [{ node, state: states[i].state! }] : []));

  const sidecarHost = nodes[0].container.dockerHost;
  const sidecars = [];
  for (const sidecar of sidecarsOf(config)) {
    const found = await labelledContainer(sidecar.name, sidecarHost);
    // A container of that name without the role label is not nats-infra's: it stays.
    if (found?.role === sidecar.role) sidecars.push({ ...sidecar, state: found.state, dockerHost: sidecarHost });
  }

  const volumes = [];
  for (const host of new Set(declared.map((n) => n.dockerHost))) {
    const existing = new Set((await dockerText(host, ["volume", "ls", "--format", "{{.Name}}"])).split("\n"));
    const sizes = await volumeSizes(host);
    for (const node of declared.filter((n) => n.dockerHost === host && existing.has(n.volumeName))) {
      volumes.push({ name: node.volumeName, dockerHost: host, size: sizes.get(node.volumeName) });
    }
  }

  // A volume of that name without the role label is not nats-infra's: it stays.
  const sidecarVolumes = new Map((await dockerText(sidecarHost, ["volume", "ls", "--format", `{{.Name}}|{{.Label "${LABELS.role}"}}`])).split("\n").map((line) => line.split("|") as [string, string]));
  const sidecarSizes = await volumeSizes(sidecarHost);
  for (const volume of monitoringVolumesOf(config).filter((v) => sidecarVolumes.get(v.name) === v.role)) {
    volumes.push({ name: volume.name, dockerHost: sidecarHost, size: sidecarSizes.get(volume.name) });
  }

  const configDirs = options.configDirs.filter((d) => d.dockerHost !== undefined || existsSync(d.dir));
  return { kind: "stack", stack: options.stack, servers, sidecars, volumes, configDirs, graceSeconds: options.graceSeconds };
}

export const isEmptyPlan = (plan: StackCleanPlan | DevCleanPlan): boolean =>
  plan.kind === "stack" && plan.servers.length + plan.sidecars.length + plan.volumes.length + plan.configDirs.length === 0;

async function labelledContainer(name: string, dockerHost?: string): Promise<{ state: string; role: string } | undefined> {
  try {
    const line = await dockerText(dockerHost, ["inspect", "--type", "container", "--format", `{{.State.Status}}|{{index .Config.Labels "${LABELS.role}"}}`, name]);
    const [state, role] = line.trim().split("|");
    return { state, role };
  } catch (error) {
    if (/no such (object|container)/i.test((error as Error).message)) return undefined;
    throw error;
  }
}

/** Docker's own size of each volume (`docker system df -v`); empty when Docker does not tell. */
async function volumeSizes(dockerHost?: string): Promise<Map<string, string>> {
  try {
    const volumes = JSON.parse(await dockerText(dockerHost, ["system", "df", "-v", "--format", "{{json .Volumes}}"])) as { Name: string; Size?: string }[];
    return new Map(volumes.filter((v) => v.Size && v.Size !== "N/A").map((v) => [v.Name, v.Size!]));
  } catch {
    return new Map();
  }
}

export interface StackCleanResult {
  stopped: StopResult[];
  removed: string[];
}

/**
 * Deletes what the plan lists: the servers stopped one at a time in reverse node order (lame duck)
 * and removed, the sidecars removed, then the volumes and the config directories. `helperImage`
 * removes a directory on another Docker host (a throwaway container that mounts its parent).
 */
export async function executeStackClean(plan: StackCleanPlan, options: { helperImage: string; helperLabels?: string[]; log?: (line: string) => void }): Promise<StackCleanResult> {
  const log = options.log ?? (() => undefined);
  const removed: string[] = [];
  const running = plan.servers.filter((s) => s.state === "running").map((s) => s.node);
  const stopped = await stopContainers([...running].reverse(), plan.graceSeconds, log);
  for (const { name, dockerHost } of [...plan.servers.map((s) => s.node.container), ...plan.sidecars]) {
    await dockerText(dockerHost, ["rm", "--force", "--volumes", name]);
    removed.push(`container ${name}`);
    log(`removed container ${name}`);
  }
  for (const volume of plan.volumes) {
    await dockerText(volume.dockerHost, ["volume", "rm", volume.name]);
    removed.push(`volume ${volume.name}`);
    log(`removed volume ${volume.name}`);
  }
  for (const dir of plan.configDirs) {
    const gone = dir.dockerHost ? await removeDirOnDockerHost(dir.dir, dir.dockerHost, options.helperImage, options.helperLabels) : removeLocalDir(dir.dir);
    if (gone) removed.push(`config dir ${dir.dir}${dir.dockerHost ? ` on ${dir.dockerHost}` : ""}`);
    log(gone ? `removed ${dir.dir}${dir.dockerHost ? ` on ${dir.dockerHost}` : ""}` : `${dir.dir} is not on ${dir.dockerHost}`);
  }
  return { stopped, removed };
}

function removeLocalDir(dir: string): boolean {
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * A directory on another Docker host, through Docker there (the access the deployment already
 * has): `rm -rf` in a throwaway container of the nats image that mounts the directory's parent.
 * False when the parent is not there.
 */
export async function removeDirOnDockerHost(dir: string, dockerHost: string, image: string, labels: string[] = []): Promise<boolean> {
  const parent = path.posix.dirname(dir);
  const mount = `type=bind,source=${parent},target=/parent`;
  try {
    await dockerText(dockerHost, ["run", "--rm", ...labels.flatMap((l) => ["--label", l]), "--mount", mount, "--entrypoint", "rm", image, "-rf", `/parent/${path.posix.basename(dir)}`]);
    return true;
  } catch (error) {
    if (/bind source path does not exist/i.test((error as Error).message)) return false;
    throw error;
  }
}

/** The dev server's state dir, if no node of it answers: deleting it under a running server would pull its files away. */
export async function planDevClean(stateDir: string, stackFile: string, monitorUrls: string[]): Promise<DevCleanPlan> {
  const answers = await Promise.all(monitorUrls.map((url) => checkHealth(url, "js-enabled-only")));
  const running = monitorUrls.filter((_, i) => answers[i].status !== undefined);
  if (running.length) throw new Error(`the dev server is running (${running.join(", ")} answers): stop it with Ctrl-C first; nothing was deleted`);
  return { kind: "dev", stack: stackNameOf(stackFile), stateDir, bytes: diskUsage(stateDir) };
}

export function executeDevClean(plan: DevCleanPlan): void {
  rmSync(plan.stateDir, { recursive: true, force: true });
}

/** Bytes of the files under `dir` (links not followed). */
function diskUsage(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskUsage(full);
    else total += lstatSync(full).size;
  }
  return total;
}
