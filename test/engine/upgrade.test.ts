// Upgrading a deployed stack: a stack deployed by main as it was before the engine fixes
// (commit d6ea7e2, with the two workarounds that let it run at all: Pulumi.yaml's description
// quoted and TS_NODE_PREFER_TS_EXTS=true), then `npm run up` in the same directory with this
// checkout. What may change is what docs/operations.md ("Upgrading") says: the nats container's
// memorySwap is updated in place (its cpus were already "2.0" in the state), the sidecars
// (Surveyor, nats-box) are replaced once, their passwords moving out of their environment, and
// the operators' read-only user (_observer) is created and reaches the server by a reload. No
// password, volume or nats container is replaced, and the server keeps running.
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { copyProject, EngineStack, prepareEngine, projectAt } from "../harness/engine";
import { freePort } from "../harness/ports";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";

/** main before the engine fixes. */
const BEFORE = "d6ea7e20a9f69c224b853792f386443c8a707e25";

let stack: EngineStack;
let monitorUrl: string;

const serverStart = async () => ((await (await fetch(`${monitorUrl}/varz`)).json()) as { start: string }).start;

beforeAll(async () => {
  prepareEngine();
  const old = projectAt(BEFORE);
  // The workarounds without which that commit did not run on the engine at all (issue 15).
  const pulumiYaml = path.join(old.dir, "Pulumi.yaml");
  writeFileSync(pulumiYaml, readFileSync(pulumiYaml, "utf8").replace(/^description: (.*)$/m, (_, text) => `description: ${JSON.stringify(text)}`));
  const pulumiHome = path.join(REPO_ROOT, ".tools/pulumi");
  stack = new EngineStack(
    {},
    {
      dir: old.dir,
      // Its tools/pulumi.sh needs a pulumi on PATH, as a user with Pulumi installed has it.
      env: { TS_NODE_PREFER_TS_EXTS: "true", PATH: `${pulumiHome}/bin:${process.env.PATH}`, PULUMI_HOME: `${pulumiHome}/home`, PULUMI_IGNORE_AMBIENT_PLUGINS: "true", PULUMI_SKIP_UPDATE_CHECK: "true" },
    },
  );
  const dev = readStackFile(DEV_STACK_FIXTURE);
  const monitor = await freePort();
  monitorUrl = `http://127.0.0.1:${monitor}`;
  stack.setConfig({ ...dev, server: { ...(dev.server as object), clientPort: await freePort(), monitorPort: monitor }, docker: { surveyor: { port: await freePort() }, natsBox: { enabled: true } } });
  await stack.npmOk("up", ["--yes"]);
  // The old checkout's files go; this checkout's come, in the same directory (its config
  // directory, state and stack file stay where they were).
  for (const file of old.files) rmSync(path.join(old.dir, file), { force: true });
  copyProject(old.dir);
  stack.setEnvironment({ TS_NODE_PREFER_TS_EXTS: undefined });
});

afterAll(async () => {
  await stack?.dispose();
});

test("npm run up with this checkout: the nats container updated in place, the sidecars replaced once, one new user reloaded, no password or volume replaced", async () => {
  const before = { outputs: await stack.outputs(), start: await serverStart(), volumes: stack.volumes() };
  const steps = await stack.previewSteps();
  const changed = steps.map((s) => `${s.op} ${s.name}`).sort();
  expect(changed).toEqual(["create nats-password-_observer", "replace nats-nats-box", "replace nats-surveyor", "update nats-config", "update nats-nats"]);
  console.log(`engine: upgrade from ${BEFORE.slice(0, 7)}: ${changed.join(", ")}`);

  await stack.npmOk("up", ["--yes"]);
  await stack.expectNoChanges();
  const after = await stack.outputs();
  expect(after.credentials).toEqual(before.outputs.credentials);
  expect(after.jetstreamAdmins).toEqual(before.outputs.jetstreamAdmins);
  expect(await serverStart()).toBe(before.start);
  expect(stack.volumes()).toEqual(before.volumes);
});
