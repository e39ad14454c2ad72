// A deployed stack is a contract. The engine identifies a resource by its URN (type, name and
// parent chain): a change of any of these, without an alias, deletes the deployed resource and
// creates a new one. And for the resources whose input changes replace them (passwords: a new
// password for every client; the volume: the JetStream data; the containers: downtime), the
// inputs themselves are part of the contract.
//
// This test records both for the default stack and a multi-account stack under mocks, and fails
// on any difference. A deliberate change (with an alias, or an intended replacement) updates the
// record with `UPDATE_GOLDEN=1 npx vitest run test/components/deployedStack.test.ts` and says
// in its commit why it is safe for deployed stacks.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { REPO_ROOT } from "../harness/tools";

const GOLDEN_DIR = path.join(REPO_ROOT, "test", "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** Resource types whose input changes replace the deployed resource (see docs/operations.md, reload versus restart). */
const REPLACED_ON_INPUT_CHANGE = new Set([
  "random:index/randomPassword:RandomPassword",
  "docker:index/volume:Volume",
  "docker:index/network:Network",
  "docker:index/container:Container",
  "docker:index/remoteImage:RemoteImage",
]);

/**
 * Inputs of those types that the provider updates in place, checked in its source
 * (terraform-provider-docker's container schema: not ForceNew). They may change freely.
 */
const UPDATED_IN_PLACE: Record<string, string[]> = {
  "docker:index/container:Container": ["destroyGraceSeconds", "memorySwap"],
};

interface DeployedResource {
  urn: string;
  /** Only for resources an input change replaces; secrets unwrapped (mock values are derived from names). */
  inputs?: unknown;
}

/** The URN the engine gives a resource: the parent's type chain, then the resource's own type and name. */
function urnOf(type: string, name: string, parentUrn: string | undefined, stack: string): string {
  const parentTypes = parentUrn ? parentUrn.split("::")[2] : "";
  const chain = parentTypes && !parentTypes.startsWith("pulumi:pulumi:Stack") ? `${parentTypes}$${type}` : type;
  return `urn:pulumi:${stack}::nats-infra::${chain}::${name}`;
}

/** Absolute paths of this checkout differ between machines; the contract is relative to it. */
function machineIndependent(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).split(REPO_ROOT).join("<repo>"));
}

function deployed(run: ProgramRun): DeployedResource[] {
  return run.resources.map((r) => {
    const urn = urnOf(r.type, r.name, r.options.parent || undefined, "dev");
    if (!REPLACED_ON_INPUT_CHANGE.has(r.type)) return { urn };
    const inputs = { ...(unwrapSecrets(r.inputs) as Record<string, unknown>) };
    for (const key of UPDATED_IN_PLACE[r.type] ?? []) delete inputs[key];
    return { urn, inputs: machineIndependent(inputs) };
  });
}

function expectRecorded(name: string, actual: DeployedResource[]): void {
  const file = path.join(GOLDEN_DIR, name);
  const text = JSON.stringify(actual, null, 2) + "\n";
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`no record ${name}; run \`UPDATE_GOLDEN=1 npx vitest run test/components/deployedStack.test.ts\``);
  const recorded = JSON.parse(readFileSync(file, "utf8")) as DeployedResource[];
  // URNs first, so a rename is reported as such rather than as a wall of input differences.
  expect(actual.map((r) => r.urn).sort(), `${name}: a resource URN changed; add an alias or explain the replacement`).toEqual(recorded.map((r) => r.urn).sort());
  const byUrn = new Map(recorded.map((r) => [r.urn, r.inputs]));
  for (const resource of actual) {
    expect(resource.inputs, `${resource.urn}: inputs changed, which replaces it on the next pulumi up`).toEqual(byUrn.get(resource.urn));
  }
}

/**
 * The restart key hashes the container spec, which holds the config directory's absolute path
 * (by default under this checkout): a fixed directory keeps the record the same on every machine.
 */
function withFixedConfigDir(raw: Record<string, unknown>): Record<string, unknown> {
  return { ...raw, docker: { ...((raw.docker as object) ?? {}), configDir: "/srv/nats-infra/config" } };
}

const stacks = {
  dev: path.join("test", "fixtures", "Pulumi.dev.yaml"),
  accounts: path.join("test", "fixtures", "Pulumi.accounts.yaml"),
};

describe("a deployed stack's next pulumi up replaces nothing", () => {
  for (const [stack, file] of Object.entries(stacks)) {
    test(`${stack} stack: same URNs, same inputs for every resource an input change replaces`, async () => {
      const run = await runProgram(withFixedConfigDir(readStackFile(path.join(REPO_ROOT, file))));
      expectRecorded(`deployed.${stack}.json`, deployed(run));
    });
  }

  test("the URN helper matches the engine's URN for a child of the component", async () => {
    const run = await runProgram(readStackFile(path.join(REPO_ROOT, stacks.dev)));
    const password = run.resources.find((r) => r.type === "random:index/randomPassword:RandomPassword")!;
    const component = password.options.parent;
    // The component's own URN is what the mock monitor gave as the parent: check our rule against it.
    expect(component).toBe("urn:pulumi:dev::nats-infra::nats-infra:index:NatsCluster::nats");
    expect(urnOf(password.type, password.name, component, "dev")).toBe(
      `urn:pulumi:dev::nats-infra::nats-infra:index:NatsCluster$random:index/randomPassword:RandomPassword::${password.name}`,
    );
  });
});
