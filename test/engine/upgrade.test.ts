// Upgrading a deployed stack: a stack deployed by main as it was before the engine fixes
// (commit d6ea7e2, with the two workarounds that let it run at all: Pulumi.yaml's description
// quoted and TS_NODE_PREFER_TS_EXTS=true), then `npm run up` in the same directory with this
// checkout. What may change is what docs/operations.md ("Upgrading") says: the nats container's
// memorySwap is updated in place (its cpus were already "2.0" in the state), the sidecars
// (Surveyor, nats-box) are replaced once, their passwords moving out of their environment, and
// the operators' read-only user (_observer) is created and reaches the server by a reload. No
// password, volume or nats container is replaced, and the server keeps running. The stack file
// stays as it was (no `inboxes`), so its services keep the shared `_INBOX.>`; opting in to
// private inboxes afterwards is one reload, and the preview shows exactly which grants change.
import { rmSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { readStackFile } from "../../config/load";
import { copyProject, EngineStack, prepareEngine, projectAt } from "../harness/engine";
import { freePort } from "../harness/ports";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";

/** main before the engine fixes. */
const BEFORE = "d6ea7e20a9f69c224b853792f386443c8a707e25";

let stack: EngineStack;
let monitorUrl: string;
/** The stack file as deployed (without the local parts EngineStack adds). */
let deployed: Record<string, unknown>;

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
  // The stack file of a user who upgrades the code and nothing else: written before `inboxes`
  // existed (that commit refuses the key).
  const { inboxes: _new, ...dev } = readStackFile(DEV_STACK_FIXTURE);
  const monitor = await freePort();
  monitorUrl = `http://127.0.0.1:${monitor}`;
  deployed = { ...dev, server: { ...(dev.server as object), clientPort: await freePort(), monitorPort: monitor }, docker: { surveyor: { port: await freePort() }, natsBox: { enabled: true } } };
  stack.setConfig(deployed);
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
  // The same passwords; the credentials now name the inbox prefix, the clients' default while shared.
  const withPrefix = (all: Record<string, object>) => Object.fromEntries(Object.entries(all).map(([user, c]) => [user, { ...c, inboxPrefix: "_INBOX" }]));
  expect(after.credentials).toEqual(withPrefix(before.outputs.credentials));
  expect(after.jetstreamAdmins).toMatchObject(before.outputs.jetstreamAdmins);
  expect(await serverStart()).toBe(before.start);
  expect(stack.volumes()).toEqual(before.volumes);
});

test("then opting in to private inboxes: the preview shows each service's inbox grant change and nothing else; one reload, and the clients with the new prefix get their replies", async () => {
  const start = await serverStart();
  stack.setConfig({ ...deployed, inboxes: "private" });
  const steps = await stack.previewSteps();
  expect(steps.map((s) => `${s.op} ${s.name}`)).toEqual(["update nats-config"]);
  const preview = await stack.npmOk("preview", ["--diff"]);
  // Pulumi diffs each JSON entry field by field: the inbox grant changes in place, the prefix is added.
  for (const service of ["teacher-service", "user-service", "notification-service"]) {
    expect(preview.stdout).toMatch(new RegExp(`~ NATS_PERMISSIONS_${service.toUpperCase().replace(/-/g, "_")}\\s*: \\(json\\)`));
    expect(preview.stdout).toMatch(new RegExp(`~ \\[\\d\\]: "_INBOX\\.>" => "_INBOX_${service}\\.>"`));
    expect(preview.stdout).toMatch(new RegExp(`\\+ inboxPrefix\\s*: "_INBOX_${service}"`));
  }

  await stack.npmOk("up", ["--yes"]);
  await stack.expectNoChanges();
  expect(await serverStart()).toBe(start);
  const { credentials } = await stack.outputs();
  expect(credentials["teacher-service"].inboxPrefix).toBe("_INBOX_teacher-service");
  const login = (service: string) => ({ servers: credentials[service].url.split(","), user: service, pass: credentials[service].password, inboxPrefix: credentials[service].inboxPrefix });
  const responder = await connect(login("user-service"));
  const requester = await connect(login("teacher-service"));
  try {
    responder.subscribe("user.get", { callback: (_error: Error | null, msg: Msg) => void msg.respond("ada") });
    await responder.flush();
    expect((await requester.request("user.get", "42", { timeout: 5000 })).string()).toBe("ada");
  } finally {
    await requester.close();
    await responder.close();
  }
});
