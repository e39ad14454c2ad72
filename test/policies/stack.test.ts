// The whole program under Pulumi mocks, its resources fed to every policy of the pack: the
// default stack must pass untouched, and a deliberately unsafe stack config must be caught by
// the policies meant to catch it.
//
// What the policies see here (toRecord in harness/runPolicies.ts), and why it is faithful:
// resource policies get the inputs the engine received (secrets still wrapped, as mocks keep
// them); stack policies get outputs, built as the mock's state overlaid with those inputs, so
// computed outputs (a password's result and hash) are there and secret marks are kept. Options
// carry only what the engine shows a policy: protect and parent, never retainOnDelete (see
// policies/jetstreamDataRetained.ts).
import { beforeAll, describe, expect, test } from "vitest";
import type { PolicyPackConfig } from "@pulumi/policy";
import { readStackFile } from "../../config/load";
import { natsInfraPolicies } from "../../policies/natsInfraPolicies";
import { runPolicies, toRecord, type RunResult } from "../harness/runPolicies";
import { runProgram, type ProgramRun } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const DEV = readStackFile(DEV_STACK_FIXTURE);
const SECRET_POLICIES = ["no-plaintext-secrets", "no-password-leaks"];
/** Mocks keep the secret mark, so the secret policies can demand it. */
const MARKS_VISIBLE: PolicyPackConfig = Object.fromEntries(SECRET_POLICIES.map((name) => [name, { secretMarkersVisible: true }]));

async function check(run: ProgramRun, packConfig: PolicyPackConfig = MARKS_VISIBLE): Promise<RunResult> {
  return runPolicies(natsInfraPolicies, run.resources.map(toRecord), packConfig);
}

const summary = (result: RunResult) => result.violations.map((v) => `${v.policy} [${v.enforcementLevel}] ${v.resource ?? ""}: ${v.message}`);

describe("default stack (Pulumi.dev.yaml)", () => {
  let dev: ProgramRun;
  beforeAll(async () => {
    dev = await runProgram(DEV);
  });

  test("has every resource type the policies check, so a pass is not vacuous", () => {
    const types = new Set(dev.resources.map((r) => r.type));
    for (const type of [
      "docker:index/container:Container",
      "docker:index/volume:Volume",
      "docker:index/remoteImage:RemoteImage",
      "random:index/randomPassword:RandomPassword",
      "command:local:Command",
    ]) {
      expect(types, type).toContain(type);
    }
  });

  test("zero violations, with secret marks demanded, and every stack policy applicable", async () => {
    const result = await check(dev);
    expect(summary(result)).toEqual([]);
    expect(result.notApplicable).toEqual([]);
  });

  test("zero violations with the pack's defaults too (as under `pulumi preview`)", async () => {
    expect(summary(await check(dev, {}))).toEqual([]);
  });

  test("with TLS at 1.2 the default stack still passes, and minimumVersion 1.3 catches it", async () => {
    const run = await runProgram({ ...DEV, tls: { cert: "/srv/tls/cert.pem", key: "/srv/tls/key.pem", minVersion: "1.2" } });
    expect(summary(await check(run))).toEqual([]);
    const strict = await check(run, { ...MARKS_VISIBLE, "tls-min-version": { minimumVersion: "1.3" } });
    expect(strict.violations.map((v) => v.policy)).toEqual(["tls-min-version"]);
  });
});

describe("a deliberately unsafe stack config", () => {
  let result: RunResult;
  beforeAll(async () => {
    const services = [...(DEV.services as object[]), { name: "firehose", publish: [">"], subscribe: ["firehose.>"] }];
    const run = await runProgram({
      ...DEV,
      services,
      docker: {
        bindAddress: "0.0.0.0",
        nats: { image: "nats:latest" },
        surveyor: { image: "natsio/nats-surveyor" },
        natsBox: { enabled: true, image: "natsio/nats-box:edge" },
      },
    });
    result = await check(run);
  });

  const of = (policy: string) => result.violations.filter((v) => v.policy === policy);

  test("unpinned images are caught on the containers and their RemoteImages", () => {
    const found = of("pinned-images");
    expect(found.map((v) => v.resource).sort()).toEqual(["nats-nats", "nats-nats-box", "nats-nats-box-image", "nats-nats-image", "nats-surveyor", "nats-surveyor-image"]);
    expect(found.find((v) => v.resource === "nats-nats")?.message).toContain('uses the moving tag "latest"');
    expect(found.find((v) => v.resource === "nats-surveyor")?.message).toContain("has no tag");
    expect(found.find((v) => v.resource === "nats-nats-box")?.message).toContain('tag "edge"');
  });

  test("publishing to > is caught as advisory, naming the service", () => {
    const found = of("no-wide-publish");
    expect(found).toHaveLength(1);
    expect(found[0].enforcementLevel).toBe("advisory");
    expect(found[0].message).toContain('service firehose (account APP) may publish to ">", which covers ">" and "$SYS.>"');
  });

  test("a public bind address is caught on every published port", () => {
    const found = of("loopback-ports");
    expect(found.map((v) => v.resource).sort()).toEqual(["nats-nats", "nats-nats", "nats-surveyor"]); // one per port
    expect(found.every((v) => v.enforcementLevel === "mandatory")).toBe(true);
    expect(found.find((v) => v.resource === "nats-nats")?.message).toContain("0.0.0.0");
  });

  test("nothing else is flagged: each unsafe setting is caught by its own policy", () => {
    expect([...new Set(result.violations.map((v) => v.policy))].sort()).toEqual(["loopback-ports", "no-wide-publish", "pinned-images"]);
  });
});

describe("negative controls on the default stack's own resources", () => {
  let dev: ProgramRun;
  beforeAll(async () => {
    dev = await runProgram(DEV);
  });

  test("the surveyor's password moved from its secret config file into its env list is caught by both secret policies", async () => {
    const records = dev.resources.map(toRecord).map((record) => {
      if (record.name !== "nats-surveyor") return record;
      const uploads = (record.props.uploads as { value: { content: string }[] }).value;
      const envs = [...(record.props.envs as string[]), `NATS_SURVEYOR_PASSWORD=${JSON.parse(uploads[0].content).password}`];
      return { ...record, props: { ...record.props, envs }, outputs: { ...record.outputs, envs } };
    });
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`).sort()).toEqual(["no-password-leaks nats-surveyor", "no-plaintext-secrets nats-surveyor"]);
  });

  test("the nats container without GOMEMLIMIT, or with a public port, is caught", async () => {
    const records = dev.resources.map(toRecord).map((record) => {
      if (record.name !== "nats-nats") return record;
      const ports = (record.props.ports as object[]).map((p) => ({ ...p, ip: "0.0.0.0" }));
      return { ...record, props: { ...record.props, envs: [], ports } };
    });
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => v.policy)).toEqual(["loopback-ports", "loopback-ports", "memory-limits"]);
  });
});
