// The replacement guard (components/replacementGuard.ts): under Pulumi mocks, where it sits in a
// cluster's graph and what its stdin says for each kind of change; then its script run the way
// @pulumi/command runs a local command (pulumi-command provider/pkg/provider/local: `/bin/sh -c
// <create|update>`, the stdin, the Pulumi CLI's environment, and on update the previous stdout,
// trailing newline trimmed, in PULUMI_COMMAND_STDOUT when it is not empty).
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { GUARD_SCRIPT, ROLLING_ENV } from "../../components/replacementGuard";
import { RESTART_KEY_LABEL } from "../../components/restartKey";
import { readStackFile } from "../../config/load";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const DEV = readStackFile(DEV_STACK_FIXTURE);
const THREE = { ...DEV, cluster: { nodes: 3 }, docker: { configDir: "/srv/nats-infra/config" } };
const GUARD = "nats-replacement-guard";
const NODES = ["", "-1", "-2"];

const declared = (run: ProgramRun, name: string) => unwrapSecrets(run.byName(name).inputs) as Record<string, any>;
const urnOf = (run: ProgramRun, name: string) => `urn:pulumi:dev::nats-infra::nats-infra:index:NatsCluster$${run.byName(name).type}::${name}`;
const stdinOf = (run: ProgramRun) => declared(run, GUARD).stdin as string;

let three: ProgramRun;
beforeAll(async () => {
  three = await runProgram(THREE);
});

describe("in the graph", () => {
  test("only a cluster has one; every node's config command and container wait for it", async () => {
    const single = await runProgram({ ...DEV, docker: { configDir: "/srv/nats-infra/config" } });
    expect(single.resources.map((r) => r.name)).not.toContain(GUARD);

    const guard = three.byName(GUARD);
    expect(guard.type).toBe("command:local:Command");
    for (const suffix of NODES) {
      expect(three.byName(`nats-nats${suffix}`).options.dependencies).toContain(urnOf(three, GUARD));
      expect(three.byName(`nats-config${suffix}`).options.dependencies).toContain(urnOf(three, GUARD));
    }
    // Plain stdin (preview shows which nodes change), the same script for create and update, and
    // the previous stdout handed to the next run.
    expect(guard.inputs.stdin).toBe(stdinOf(three));
    expect(declared(three, GUARD)).toMatchObject({ create: GUARD_SCRIPT, update: GUARD_SCRIPT, addPreviousOutputInEnv: true });
  });

  test("its stdin lists every node's container with the label that container carries, on one Docker host or across hosts", async () => {
    // Across hosts a node's config directory is its host's delivery directory, so its label differs.
    const across = await runProgram({
      ...DEV,
      cluster: {
        nodes: [{ address: "10.0.0.5" }, { address: "10.0.0.6", dockerHost: "ssh://admin@10.0.0.6" }, { address: "10.0.0.7", dockerHost: "ssh://deploy@10.0.0.7:2222" }],
        tls: { cert: "/etc/nats-infra/route-cert.pem", key: "/etc/nats-infra/route-key.pem", ca: "/etc/nats-infra/route-ca.pem" },
        ssh: { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-only\n-----END OPENSSH PRIVATE KEY-----\n" },
      },
    });
    for (const run of [three, across]) {
      const labels = NODES.map((suffix) => {
        const container = declared(run, `nats-nats${suffix}`);
        return `${container.name} ${(container.labels as { label: string; value: string }[]).find((l) => l.label === RESTART_KEY_LABEL)!.value}\n`;
      });
      expect(stdinOf(run)).toBe(labels.join(""));
    }
  });
});

describe("what a change does to its stdin", () => {
  test("an image upgrade changes every node's line", async () => {
    const upgraded = await runProgram({ ...THREE, docker: { ...THREE.docker, nats: { image: "nats:2.14.11-alpine" } } });
    const before = stdinOf(three).trim().split("\n");
    const after = stdinOf(upgraded).trim().split("\n");
    expect(after).toHaveLength(3);
    after.forEach((line, i) => {
      expect(line.split(" ")[0]).toBe(before[i].split(" ")[0]);
      expect(line).not.toBe(before[i]);
    });
  });

  test("an auth change and a restart-class change leave it alone; one node's own port changes its line only", async () => {
    const auth = await runProgram({ ...THREE, services: [...(DEV.services as object[]), { name: "audit-service", subscribe: ["events.*"] }] });
    const settings = await runProgram({ ...THREE, jetstream: { ...(DEV.jetstream as object), syncInterval: "2s" } });
    expect(stdinOf(auth)).toBe(stdinOf(three));
    expect(stdinOf(settings)).toBe(stdinOf(three));

    const ports = [{}, { monitorPort: 18_333 }, {}];
    const moved = await runProgram({ ...THREE, cluster: { nodes: ports } });
    const diff = stdinOf(moved).split("\n").map((line, i) => line !== stdinOf(three).split("\n")[i]);
    expect(diff.slice(0, 3)).toEqual([false, true, false]);
  });
});

/** The provider's run of one line: /bin/sh -c, stdin, the CLI's environment plus the previous stdout. */
function runGuard(which: "create" | "update", stdin: string, previousStdout: string | undefined, env: Record<string, string> = {}) {
  const result = spawnSync("/bin/sh", ["-c", declared(three, GUARD)[which]], {
    input: stdin,
    env: { PATH: process.env.PATH, ...(previousStdout ? { PULUMI_COMMAND_STDOUT: previousStdout.replace(/\n$/, "") } : {}), ...env },
    encoding: "utf8",
    timeout: 10_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("its script, run as the provider runs it", () => {
  let current: string;
  let upgraded: string;
  let onePortMoved: string;
  let grown: string;
  beforeAll(async () => {
    current = stdinOf(three);
    upgraded = stdinOf(await runProgram({ ...THREE, docker: { ...THREE.docker, nats: { image: "nats:2.14.11-alpine" } } }));
    onePortMoved = stdinOf(await runProgram({ ...THREE, cluster: { nodes: [{}, {}, { clientPort: 14_999 }] } }));
    grown = stdinOf(await runProgram({ ...THREE, cluster: { nodes: 5 } }));
  });

  test("create (no previous run) records the list", () => {
    const created = runGuard("create", current, undefined);
    expect(created).toMatchObject({ status: 0, stdout: current, stderr: "" });
  });

  test("0 or 1 changed node passes and records the new list; an added node is not a replacement", () => {
    expect(runGuard("update", current, current)).toMatchObject({ status: 0, stdout: current, stderr: "" });
    const one = runGuard("update", onePortMoved, current);
    expect(one).toMatchObject({ status: 0, stdout: onePortMoved });
    expect(one.stderr).toContain("only the container of nats-infra-nats-2 changes: replaced alone");
    expect(runGuard("update", grown, current)).toMatchObject({ status: 0, stdout: grown, stderr: "" });
  });

  test("2 or more changed nodes are refused with what to run instead; the driver's variable lets it pass", () => {
    const refused = runGuard("update", upgraded, current);
    console.log(`refused: ${refused.stderr}`);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("would replace the containers of 3 nodes at once (nats-infra-nats nats-infra-nats-1 nats-infra-nats-2)");
    expect(refused.stderr).toContain("Run npm run up instead: it replaces one node at a time");
    // Anything but exactly 1 is not the driver.
    expect(runGuard("update", upgraded, current, { [ROLLING_ENV]: "yes" }).status).toBe(1);

    const rolling = runGuard("update", upgraded, current, { [ROLLING_ENV]: "1" });
    expect(rolling).toMatchObject({ status: 0, stdout: upgraded });
    expect(rolling.stderr).toContain(`allowed, ${ROLLING_ENV}=1`);
    // Its record is the new list: the next plain update compares against it.
    expect(runGuard("update", upgraded, rolling.stdout)).toMatchObject({ status: 0, stderr: "" });
  });
});
