// `npm run up` of a cluster (tools/pulumi.sh with cli/rollingUp.ts) against a recording stand-in
// for the Pulumi CLI, as test/cli/pulumi.script.test.ts does: the CLI cannot be installed here.
// The stand-in answers `preview --json` with a preview built from the real program run under
// mocks twice (before and after the change: real URNs, inputs and dependencies), with the ops the
// engine gives them (containers whose image or ports change: replace; the image: replace; config
// commands and the guard: update; the rest: same). Each node's /healthz is a real local HTTP
// server on the node's declared monitoring port, and a node answers 503 for a while after the
// stand-in "replaced" it, so the driver must wait. Everything lands in one log, in order.
import { execFile } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { planReplacements, readPreview } from "../../cli/rollingUp";
import { ROLLING_ENV } from "../../components/replacementGuard";
import { readStackFile } from "../../config/load";
import { REPO_ROOT } from "../harness/tools";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const DEV = readStackFile(DEV_STACK_FIXTURE);
const CONTAINER = "docker:index/container:Container";
/** The node containers' resource names, and their Docker names (docker.namePrefix "nats-infra"), which messages use. */
const NODES = ["nats-nats", "nats-nats-1", "nats-nats-2"];
const CONTAINERS = ["nats-infra-nats", "nats-infra-nats-1", "nats-infra-nats-2"];
/** What the repository's code needs at run time; the project is a temporary copy of the wrapper plus links. */
const LINKED = ["cli", "config", "ops", "render", "components", "node_modules", "package.json", "tsconfig.json"];

let project: string;
let log: string;
const servers: Server[] = [];

beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), "nats-infra-rolling-"));
  mkdirSync(path.join(project, "tools"));
  mkdirSync(path.join(project, "bin"));
  mkdirSync(path.join(project, "replaced"));
  for (const script of ["pulumi.sh", "pulumi-env.sh"]) cpSync(path.join(REPO_ROOT, "tools", script), path.join(project, "tools", script));
  for (const entry of LINKED) symlinkSync(path.join(REPO_ROOT, entry), path.join(project, entry));
  log = path.join(project, "calls.log");
  // Records each call and whether the guard's variable is set; `preview` prints the fixture; an
  // `up` marks the containers it targets as replaced, or fails when one is FAIL_ON.
  const fake = `#!/usr/bin/env bash
echo "pulumi $* | ${ROLLING_ENV}=\${${ROLLING_ENV}:-}" >>"${log}"
if [ "$1 $2" = "stack select" ]; then [ -f "${project}/initialised" ] || exit 255; fi
if [ "$1 $2" = "stack init" ]; then touch "${project}/initialised"; fi
if [ "$1" = preview ]; then cat "${project}/preview.json"; fi
if [ "$1" = up ]; then
  for arg; do
    case "$arg" in *'${CONTAINER}'::*) name="\${arg##*::}"; [ "$name" != "\${FAIL_ON:-}" ] || exit 1; touch "${project}/replaced/$name" ;; esac
  done
fi
exit 0
`;
  writeFileSync(path.join(project, "bin", "pulumi"), fake);
  chmodSync(path.join(project, "bin", "pulumi"), 0o755);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(project, { recursive: true, force: true });
});

const replaced = (container: string) => existsSync(path.join(project, "replaced", container));

/**
 * One node's /healthz on 127.0.0.1: ok, except for the first `settle` answers after the stand-in
 * replaced the node (503, as a server whose streams are catching up), and never while `serving`
 * says the node is not there (the connection is dropped).
 */
async function healthz(container: string, options: { settle?: number; serving?: () => boolean } = {}): Promise<number> {
  let sinceReplaced = 0;
  const server = createServer((req, res) => {
    if (options.serving && !options.serving()) {
      appendFileSync(log, `healthz ${container} down\n`);
      return void req.socket.destroy();
    }
    if (replaced(container) && sinceReplaced++ < (options.settle ?? 2)) {
      appendFileSync(log, `healthz ${container} 503\n`);
      return void res.writeHead(503).end(JSON.stringify({ status: "unavailable", error: "JetStream stream 'APP > EVENTS' is not current" }));
    }
    appendFileSync(log, `healthz ${container} ok\n`);
    res.writeHead(200).end(JSON.stringify({ status: "ok" }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A stack config with the three nodes' monitoring ports. */
const clusterConfig = (monitorPorts: number[], image = "nats:2.14.10-alpine") => ({
  ...DEV,
  cluster: { nodes: monitorPorts.map((monitorPort, i) => ({ clientPort: 24_222 + i, monitorPort })) },
  docker: { configDir: "/srv/nats-infra/config", nats: { image } },
});

/** The stack file the wrapper reads to tell a cluster from a single server. */
function writeStackFile(raw: Record<string, unknown>): void {
  const config = Object.fromEntries(Object.entries(raw).map(([key, value]) => [`nats-infra:${key}`, value]));
  writeFileSync(path.join(project, "Pulumi.dev.yaml"), stringify({ config }));
}

/** The URN the engine gives a resource: its parent's type chain, its type, its name. */
function urnOf(run: ProgramRun, name: string): string {
  const resource = run.byName(name);
  const parent = resource.options.parent.split("::");
  const chain = parent[2] === "pulumi:pulumi:Stack" ? resource.type : `${parent[2]}$${resource.type}`;
  return `urn:pulumi:dev::nats-infra::${chain}::${name}`;
}

/** `pulumi preview --json --show-sames` for before -> after; `ops` by resource name, the rest `same`. */
function previewJson(before: ProgramRun, after: ProgramRun, ops: Record<string, string>): string {
  const state = (run: ProgramRun, name: string) => {
    const resource = run.byName(name);
    return { urn: urnOf(run, name), type: resource.type, inputs: unwrapSecrets(resource.inputs), dependencies: resource.options.dependencies };
  };
  const steps = after.resources.map((r) => {
    const op = ops[r.name] ?? "same";
    return { op, urn: urnOf(after, r.name), ...(op === "create" ? {} : { oldState: state(before, r.name) }), newState: state(after, r.name) };
  });
  return JSON.stringify({ steps, changeSummary: {} }, null, 4);
}

const replacing = (nodes: string[]) => ({
  "nats-nats-image": "replace",
  "nats-replacement-guard": "update",
  ...Object.fromEntries(nodes.flatMap((n) => [[n, "replace"], [n.replace("-nats", "-config"), "update"]])),
});

function wrapper(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [path.join(project, "tools", "pulumi.sh"), ...args],
      { env: { PATH: `${path.join(project, "bin")}:${process.env.PATH}`, HOME: project, PULUMI_CONFIG_PASSPHRASE: "test", ...env }, timeout: 60_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

const lines = () => readFileSync(log, "utf8").trim().split("\n");
const pulumiCalls = () => lines().filter((l) => l.startsWith("pulumi "));
/** A targeted up as the stand-in recorded it, by resource name. */
const targetsOf = (call: string) => [...call.matchAll(/--target \S+::([^\s|]+)/g)].map((m) => m[1]);

/** An image upgrade of the 3-node cluster: its before and after runs and the preview, written where the stand-in reads it. */
async function imageUpgrade(options: { settle?: number } = {}): Promise<{ before: ProgramRun; after: ProgramRun }> {
  const ports = await Promise.all(NODES.map((n) => healthz(n, options)));
  const before = await runProgram(clusterConfig(ports));
  const after = await runProgram(clusterConfig(ports, "nats:2.14.11-alpine"));
  writeStackFile(clusterConfig(ports, "nats:2.14.11-alpine"));
  writeFileSync(path.join(project, "preview.json"), previewJson(before, after, replacing(NODES)));
  return { before, after };
}

describe("an update that replaces every node's container", () => {
  test("replaces one node at a time in node order, waiting for every node's /healthz before and after each, then runs the full update", async () => {
    await imageUpgrade();
    const { code, stderr } = await wrapper(["up", "--yes"]);
    console.log(stderr);
    expect(code).toBe(0);

    const calls = pulumiCalls();
    expect(calls.slice(0, 3).map((c) => c.split(" | ")[0])).toEqual(["pulumi stack select dev", "pulumi stack init dev --secrets-provider passphrase", "pulumi preview --json --show-sames"]);
    const ups = calls.filter((c) => c.startsWith("pulumi up"));
    expect(ups.map(targetsOf)).toEqual([
      // The node's container, its config command (its files first, as in a full update) and the
      // image the update replaces; not the replacement guard (updated in place: left to the end).
      ["nats-nats", "nats-config", "nats-nats-image"],
      ["nats-nats-1", "nats-config-1", "nats-nats-image"],
      ["nats-nats-2", "nats-config-2", "nats-nats-image"],
      [],
    ]);
    for (const up of ups.slice(0, 3)) expect(up).toMatch(new RegExp(`^pulumi up --yes .* \\| ${ROLLING_ENV}=$`));
    expect(ups[3]).toBe(`pulumi up --yes | ${ROLLING_ENV}=1`);

    // Between two targeted updates: the replaced node answered 503 until it was current, and
    // the next one went only after a round in which every node said ok.
    const order = lines();
    const upAt = ups.map((up) => order.indexOf(up));
    for (const [i, node] of NODES.entries()) {
      const between = order.slice(upAt[i] + 1, upAt[i + 1]);
      expect(between.filter((l) => l === `healthz ${node} 503`)).toHaveLength(2);
      expect(between.slice(-3).sort()).toEqual(NODES.map((n) => `healthz ${n} ok`));
    }
    expect(order.slice(0, upAt[0]).filter((l) => l.endsWith(" ok")).sort()).toEqual(NODES.map((n) => `healthz ${n} ok`));
    expect(stderr).toContain(`this update replaces or creates the containers of 3 nodes (${CONTAINERS.join(", ")})`);
    expect(stderr).toContain("npm run up: (2/3) nats-infra-nats-1 alone: pulumi up --yes --target");
  });

  test("a port change: each node's /healthz is asked at its old port until it is replaced, at its new port after", async () => {
    const oldPorts = await Promise.all(NODES.map((n) => healthz(n, { settle: 0, serving: () => !replaced(n) })));
    const newPorts = await Promise.all(NODES.map((n) => healthz(`${n}-new`, { settle: 0, serving: () => replaced(n) })));
    const before = await runProgram(clusterConfig(oldPorts));
    const after = await runProgram(clusterConfig(newPorts));
    writeStackFile(clusterConfig(newPorts));
    writeFileSync(path.join(project, "preview.json"), previewJson(before, after, { ...replacing(NODES), "nats-nats-image": "same" }));

    const { code, stderr } = await wrapper(["up", "--yes"]);
    expect(code, stderr).toBe(0);
    expect(pulumiCalls().filter((c) => c.startsWith("pulumi up")).map(targetsOf)).toEqual([["nats-nats", "nats-config"], ["nats-nats-1", "nats-config-1"], ["nats-nats-2", "nats-config-2"], []]);
    // Nothing was asked where no node listened: the old port of a replaced node, the new port of one not yet replaced.
    expect(lines().filter((l) => l.endsWith(" down"))).toEqual([]);
    expect(lines().filter((l) => l.startsWith("healthz nats-nats-2-new"))).not.toEqual([]);
  });
});

describe("when one plain update is as good", () => {
  test.each([
    ["no node container", []],
    ["one node container", ["nats-nats-1"]],
  ])("a preview that replaces %s: one full update, with the guard told", async (_what, nodes) => {
    const ports = await Promise.all(NODES.map((n) => healthz(n)));
    const run = await runProgram(clusterConfig(ports));
    writeStackFile(clusterConfig(ports));
    writeFileSync(path.join(project, "preview.json"), previewJson(run, run, Object.fromEntries(nodes.map((n) => [n, "replace"]))));

    const { code, stderr } = await wrapper(["up", "--yes"]);
    expect(code, stderr).toBe(0);
    expect(pulumiCalls().slice(2)).toEqual(["pulumi preview --json --show-sames | NATS_INFRA_ROLLING=", `pulumi up --yes | ${ROLLING_ENV}=1`]);
    expect(stderr).toContain("no cluster replaces more than one node's container: one pulumi up");
  });

  test("a single server: no preview, pulumi up as before", async () => {
    writeStackFile(DEV);
    expect((await wrapper(["up", "--yes"])).code).toBe(0);
    expect(pulumiCalls().slice(2)).toEqual([`pulumi up --yes | ${ROLLING_ENV}=`]);
  });

  test("targets given by hand: no preview, pulumi up with them", async () => {
    await imageUpgrade();
    const urn = "urn:pulumi:dev::nats-infra::nats-infra:index:NatsCluster$docker:index/container:Container::nats-nats-1";
    expect((await wrapper(["up", "--target", urn, "--yes"])).code).toBe(0);
    expect(pulumiCalls().slice(2)).toEqual([`pulumi up --target ${urn} --yes | ${ROLLING_ENV}=`]);
  });
});

describe("failures stop the run at the node, with what to do", () => {
  test("a targeted update that fails: no further node is touched", async () => {
    await imageUpgrade();
    const { code, stderr } = await wrapper(["up", "--yes"], { FAIL_ON: "nats-nats-1" });
    console.log(stderr);
    expect(code).toBe(1);
    expect(pulumiCalls().filter((c) => c.startsWith("pulumi up")).map(targetsOf)).toEqual([
      ["nats-nats", "nats-config", "nats-nats-image"],
      ["nats-nats-1", "nats-config-1", "nats-nats-image"],
    ]);
    expect(stderr).toContain("pulumi up for nats-infra-nats-1 failed (its error above), so the update stopped there; nats-infra-nats-1 is down if its old container was removed before the failure. Replaced: nats-infra-nats; not yet: nats-infra-nats-2.");
    expect(stderr).toContain("run npm run up again: it goes on with the nodes not yet replaced");
  });

  test("a replaced node that does not become healthy: the next one is not replaced", async () => {
    await imageUpgrade({ settle: 1_000_000 });
    const { code, stderr } = await wrapper(["up", "--yes"], { NATS_INFRA_HEALTH_WAIT: "1s" });
    console.log(stderr);
    expect(code).toBe(1);
    expect(pulumiCalls().filter((c) => c.startsWith("pulumi up")).map(targetsOf)).toEqual([["nats-nats", "nats-config", "nats-nats-image"]]);
    expect(stderr).toMatch(/node nats-infra-nats is not healthy after \d+ ms; its last \/healthz: 503 JetStream stream 'APP > EVENTS' is not current/);
    expect(stderr).toContain("After nats-infra-nats was replaced, not every node became healthy");
    expect(stderr).toContain("so the update stopped before nats-infra-nats-1. Replaced: nats-infra-nats; not yet: nats-infra-nats-1, nats-infra-nats-2.");
  });

  test("without --yes and without a terminal to ask: nothing is changed", async () => {
    await imageUpgrade();
    const { code, stderr } = await wrapper(["up"]);
    expect(code).toBe(1);
    expect(pulumiCalls().filter((c) => c.startsWith("pulumi up"))).toEqual([]);
    expect(stderr).toContain("nothing was changed: add --yes (npm run up -- --yes)");
  });
});

describe("the plan read from a preview", () => {
  test("a node whose replacement failed half way (created now) counts: it is not serving", async () => {
    const ports = [1, 2, 3].map((i) => 28_000 + i);
    const before = await runProgram(clusterConfig(ports));
    const after = await runProgram(clusterConfig(ports, "nats:2.14.11-alpine"));
    const resources = readPreview(previewJson(before, after, { "nats-nats-1": "create", "nats-nats-2": "replace" }));
    expect(planReplacements(resources).map((n) => [n.container, n.change])).toEqual([[CONTAINERS[1], "create"], [CONTAINERS[2], "replace"]]);
    // Growing a cluster alone is one plain update.
    expect(planReplacements(readPreview(previewJson(before, before, { "nats-nats-1": "create", "nats-nats-2": "create" })))).toEqual([]);
  });

  test("replacement steps shown one by one (--show-replacement-steps) read the same", async () => {
    const ports = [1, 2, 3].map((i) => 28_100 + i);
    const before = await runProgram(clusterConfig(ports));
    const after = await runProgram(clusterConfig(ports, "nats:2.14.11-alpine"));
    const digest = JSON.parse(previewJson(before, after, replacing(NODES))) as { steps: { op: string; urn: string }[] };
    digest.steps = digest.steps.flatMap((s) => (s.op === "replace" ? [{ ...s, op: "delete-replaced" }, { ...s, op: "create-replacement" }] : [s]));
    expect(planReplacements(readPreview(JSON.stringify(digest))).map((n) => n.container)).toEqual(CONTAINERS);
  });
});
