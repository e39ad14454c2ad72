// The TypeScript half of `npm run up` for a cluster (tools/pulumi.sh drives Pulumi, this reads
// what Pulumi says and waits for the servers):
//
//   tsx cli/rollingUp.ts clustered <Pulumi.stack.yaml>   exit 0 when the stack runs a cluster
//   tsx cli/rollingUp.ts plan <preview.json>             the nodes to replace one at a time
//   tsx cli/rollingUp.ts wait <preview.json> <done>      until every node's /healthz is ok
//
// <preview.json> is `pulumi preview --json --show-sames`: its `steps` list every resource with
// `op`, `urn`, `oldState` and `newState` (pkg/backend/display/json.go, ShowPreviewDigest; the
// sames are there only with --show-sames). A node container is a docker Container whose parent
// is a NatsCluster and whose name is `<cluster>-nats` or `<cluster>-nats-<i>` (natsNode.ts).
//
// `plan` prints nothing when no cluster replaces more than one node's container (a plain
// `pulumi up` is then as good), else one line per node to replace (or create: see
// planReplacements) in node order, `<container> <urn> <urn> ...`, with the plan in words on
// stderr. The URNs are what its `pulumi up --target` needs: the container, its
// config command (which installs the node's files first, as in a full update), and every
// dependency of those that the update creates or replaces (a new password, a new image): the
// engine refuses a targeted update whose target depends on an untargeted create. Dependencies the
// update only changes in place (the replacement guard) stay untargeted and keep their state.
//
// `wait` checks every node that exists now, each at its monitoring port as it stands after the
// first <done> replacements (a port change moves a node's port when it is replaced), with
// ops/health.ts waitHealthy: the full /healthz, JetStream current. NATS_INFRA_HEALTH_WAIT
// (a duration, default 120s) bounds it.
import { readFileSync } from "node:fs";
import { hostAddress } from "../config/addresses";
import { isClustered } from "../config/cluster";
import { CONTAINER } from "../config/container";
import { parseStackConfig, readStackFile } from "../config/load";
import { parseDuration } from "../config/units";
import { NotHealthyError, waitHealthy } from "../ops/health";

const CONTAINER_TYPE = "docker:index/container:Container";
/** A node's config command: local, or over SSH for a node on another Docker host. */
const CONFIG_COMMAND_TYPES = ["command:local:Command", "command:remote:Command"];
const CLUSTER_TYPE = "nats-infra:index:NatsCluster";
/** The ops of a replacement: `replace` alone by default, the other two with --show-replacement-steps. */
const REPLACING = new Set(["replace", "create-replacement", "delete-replaced"]);
/** What an untargeted dependency of a target must not be left with (its create refused, its replacement undone). */
const CREATING = new Set(["create", ...REPLACING]);
const DEFAULT_HEALTH_WAIT = "120s";

interface PreviewState {
  inputs?: Record<string, unknown>;
  dependencies?: string[];
}

interface PreviewStep {
  op: string;
  urn: string;
  oldState?: PreviewState;
  newState?: PreviewState;
}

/** Every step of one resource merged: its ops and its old and new state. */
interface PreviewResource {
  urn: string;
  ops: Set<string>;
  oldState?: PreviewState;
  newState?: PreviewState;
}

export interface NodeContainer {
  urn: string;
  /** The Docker container's name, for messages. */
  container: string;
  /** `<parent types>$<cluster name>`: which NatsCluster it belongs to. */
  cluster: string;
  index: number;
  /** What the update does to it: replaces it, or creates it (a new node, or one whose replacement failed half way). */
  change?: "replace" | "create";
  /** Where its /healthz is served before the update (undefined: it does not exist yet). */
  oldMonitorUrl?: string;
  /** Where it is served after the update. */
  newMonitorUrl?: string;
}

export interface PlannedNode extends NodeContainer {
  /** What `pulumi up --target` needs for this node, the container first. */
  targets: string[];
}

export class PreviewError extends Error {}

/** The steps of `pulumi preview --json`, merged per resource. */
export function readPreview(text: string): Map<string, PreviewResource> {
  let digest: { steps?: PreviewStep[] };
  try {
    digest = JSON.parse(text) as { steps?: PreviewStep[] };
  } catch (error) {
    throw new PreviewError(`pulumi preview --json did not print JSON (${(error as Error).message})`);
  }
  const resources = new Map<string, PreviewResource>();
  for (const step of digest.steps ?? []) {
    const resource = resources.get(step.urn) ?? { urn: step.urn, ops: new Set<string>() };
    resource.ops.add(step.op);
    resource.oldState ??= step.oldState;
    resource.newState ??= step.newState;
    resources.set(step.urn, resource);
  }
  return resources;
}

/** `urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>` into its parts. */
function splitUrn(urn: string): { parents: string; type: string; name: string } {
  const parts = urn.split("::");
  const types = (parts[2] ?? "").split("$");
  return { parents: types.slice(0, -1).join("$"), type: types.at(-1) ?? "", name: parts.slice(3).join("::") };
}

const urnOf = (like: string, type: string, name: string): string => {
  const parts = like.split("::");
  const { parents } = splitUrn(like);
  return [...parts.slice(0, 2), parents ? `${parents}$${type}` : type, name].join("::");
};

function monitorUrl(state: PreviewState | undefined): string | undefined {
  const ports = state?.inputs?.ports as { internal?: number; external?: number; ip?: string }[] | undefined;
  const monitor = ports?.find((p) => p.internal === CONTAINER.monitorPort);
  return monitor?.external === undefined ? undefined : `http://${hostAddress(monitor.ip ?? "0.0.0.0")}:${monitor.external}`;
}

/** Every nats node container the preview lists, in cluster and node order. */
export function nodeContainers(resources: Map<string, PreviewResource>): NodeContainer[] {
  const nodes: NodeContainer[] = [];
  for (const resource of resources.values()) {
    const { parents, type, name } = splitUrn(resource.urn);
    const match = /^(.+)-nats(?:-(\d+))?$/.exec(name);
    if (type !== CONTAINER_TYPE || !parents.split("$").includes(CLUSTER_TYPE) || !match) continue;
    const inputs = resource.newState?.inputs ?? resource.oldState?.inputs;
    nodes.push({
      urn: resource.urn,
      container: typeof inputs?.name === "string" ? inputs.name : name,
      cluster: `${parents}$${match[1]}`,
      index: Number(match[2] ?? 0),
      change: [...resource.ops].some((op) => REPLACING.has(op)) ? "replace" : resource.ops.has("create") ? "create" : undefined,
      oldMonitorUrl: resource.oldState ? monitorUrl(resource.oldState) : undefined,
      newMonitorUrl: resource.newState ? monitorUrl(resource.newState) : undefined,
    });
  }
  return nodes.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.index - b.index);
}

/**
 * The nodes to bring in one at a time, in node order: empty unless some cluster replaces a node's
 * container and replaces or creates at least one more. A created node counts there because it is
 * not serving yet: after a replacement that failed half way (old container deleted, new one not
 * created) the next preview creates that node, and replacing another one beside it would leave
 * two down. Creates alone (growing a cluster) are left to one plain update.
 */
export function planReplacements(resources: Map<string, PreviewResource>): PlannedNode[] {
  const nodes = nodeContainers(resources);
  const changed = nodes.filter((n) => n.change !== undefined);
  const clusters = new Set(changed.map((n) => n.cluster));
  const rolling = [...clusters].some((cluster) => {
    const own = changed.filter((n) => n.cluster === cluster);
    return own.length > 1 && own.some((n) => n.change === "replace");
  });
  if (!rolling) return [];
  const nodeUrns = new Set(nodes.map((n) => n.urn));
  return changed.map((node) => ({ ...node, targets: targetsOf(node, resources, nodeUrns) }));
}

function targetsOf(node: NodeContainer, resources: Map<string, PreviewResource>, nodeUrns: Set<string>): string[] {
  const { name } = splitUrn(node.urn);
  const configName = name.replace(/-nats(-\d+)?$/, "-config$1");
  const configCommand = CONFIG_COMMAND_TYPES.map((type) => urnOf(node.urn, type, configName)).filter((urn) => resources.has(urn));
  const targets = [node.urn, ...configCommand];
  for (let i = 0; i < targets.length; i++) {
    for (const dependency of resources.get(targets[i])?.newState?.dependencies ?? []) {
      const ops = resources.get(dependency)?.ops ?? new Set<string>();
      if (targets.includes(dependency) || nodeUrns.has(dependency) || ![...ops].some((op) => CREATING.has(op))) continue;
      targets.push(dependency);
    }
  }
  return targets;
}

/** Every node that runs once the first `done` planned nodes are in place, at its monitoring URL by then. */
export function healthTargets(resources: Map<string, PreviewResource>, done: number): { name: string; monitorUrl: string }[] {
  const moved = new Set(planReplacements(resources).slice(0, done).map((n) => n.urn));
  return nodeContainers(resources).flatMap((n) => {
    const monitorUrl = moved.has(n.urn) ? n.newMonitorUrl : n.oldMonitorUrl;
    return monitorUrl === undefined ? [] : [{ name: n.container, monitorUrl }];
  });
}

function describePlan(plan: PlannedNode[]): string {
  const lines = plan.map((n, i) => `  ${i + 1}. ${n.change} ${n.container}: pulumi up --target ${n.targets.map((t) => splitUrn(t).name).join(" --target ")}`);
  return [
    `npm run up: this update replaces or creates the containers of ${plan.length} nodes (${plan.map((n) => n.container).join(", ")}); a plain pulumi up would do it to all of them at once.`,
    "One node at a time instead, each only once every node answers /healthz ok:",
    ...lines,
    "  then: pulumi up for the rest of the update",
  ].join("\n");
}

async function wait(resources: Map<string, PreviewResource>, done: number): Promise<number> {
  const setting = process.env.NATS_INFRA_HEALTH_WAIT ?? DEFAULT_HEALTH_WAIT;
  const timeoutMs = parseDuration(setting);
  if (timeoutMs === undefined) throw new PreviewError(`NATS_INFRA_HEALTH_WAIT=${setting}: not a duration; use e.g. 120s or 5m`);
  const targets = healthTargets(resources, done);
  process.stderr.write(`npm run up: waiting until every node answers /healthz ok (up to ${setting}): ${targets.map((t) => `${t.name} ${t.monitorUrl}`).join(", ")}\n`);
  const started = Date.now();
  try {
    await waitHealthy(targets, timeoutMs);
  } catch (error) {
    if (!(error instanceof NotHealthyError)) throw error;
    process.stderr.write(`npm run up: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`npm run up: every node is healthy (${Date.now() - started} ms)\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [action, file, done] = argv;
  try {
    if (action === "clustered" && file) return isClustered(parseStackConfig(readStackFile(file)).config) ? 0 : 1;
    if ((action === "plan" || action === "wait") && file) {
      const resources = readPreview(readFileSync(file, "utf8"));
      if (action === "wait") return await wait(resources, Number(done ?? 0));
      const plan = planReplacements(resources);
      if (plan.length > 0) process.stderr.write(`${describePlan(plan)}\n`);
      for (const node of plan) process.stdout.write(`${[node.container, ...node.targets].join(" ")}\n`);
      return 0;
    }
  } catch (error) {
    // `clustered` on a stack file that does not parse: the plain `pulumi up` reports its problems.
    if (action === "clustered") return 1;
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  process.stderr.write("usage: tsx cli/rollingUp.ts clustered <stack file> | plan <preview.json> | wait <preview.json> <replaced so far>\n");
  return 2;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
