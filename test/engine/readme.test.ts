// The README's path on the real Pulumi engine, on a fresh copy of this checkout: the dev stack
// (Pulumi.dev.yaml as committed, given its own name prefix, ports and the local images) through
// `npm run preview` and `npm run up`, the connection snippet against what was deployed, the
// policy pack, what the state and Docker show of the passwords, and `npm run down` then `up`
// again. `pulumi preview --expect-no-changes` follows every `up`.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { docker, dockerOk } from "../harness/docker";
import { EngineStack, prepareEngine, tail } from "../harness/engine";
import { freePort } from "../harness/ports";
import { readmeSnippet } from "../harness/readme";
import { waitFor } from "../harness/natsServer";
import { REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);
let stack: EngineStack;
let ports: { client: number; monitor: number; surveyor: number };

/** Every password the deployed stack generated (each RandomPassword's result, read with --show-secrets). */
async function passwords(): Promise<string[]> {
  const exported = await stack.pulumi(["stack", "export", "--show-secrets"]);
  const resources = JSON.parse(exported.stdout).deployment.resources as { type: string; outputs?: { result?: string } }[];
  return resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.outputs!.result!);
}

const containers = () => dockerOk(["ps", "-q", "--filter", `name=^${stack.prefix}`]).split("\n").filter(Boolean);
const startedAt = async () => ((await (await fetch(`http://127.0.0.1:${ports.monitor}/varz`)).json()) as { start: string }).start;

beforeAll(async () => {
  prepareEngine();
  const dev = readStackFile(path.join(REPO_ROOT, "Pulumi.dev.yaml"));
  ports = { client: await freePort(), monitor: await freePort(), surveyor: await freePort() };
  stack = new EngineStack({
    ...dev,
    server: { ...(dev.server as object), clientPort: ports.client, monitorPort: ports.monitor },
    docker: { surveyor: { port: ports.surveyor } },
  });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("the README's path", () => {
  test("npm run preview, then npm run up: the dev stack deploys, and a preview right after has nothing to change", async () => {
    const preview = await stack.npmOk("preview");
    expect(preview.stdout).toMatch(/\+ \d+ to create/);
    expect(containers()).toEqual([]);
    const up = await stack.npmOk("up", ["--yes"]);
    expect(up.stdout).toMatch(/\d+ created/);
    await stack.expectNoChanges();
    expect((await fetch(`http://127.0.0.1:${ports.monitor}/healthz?js-enabled-only=true`)).status).toBe(200);
    // Surveyor, with the password from its uploaded config file, surveys the server.
    let metrics = "";
    await waitFor(async () => /^nats_survey_surveyed_count 1$/m.test((metrics = await (await fetch(`http://127.0.0.1:${ports.surveyor}/metrics`)).text())), 30_000, () => `Surveyor's metrics:\n${metrics.slice(0, 2000)}`);
    expect(metrics).toMatch(/^nats_up 1$/m);
    console.log(`engine: npm run preview ${preview.ms} ms, npm run up ${up.ms} ms`);
  });

  test("the README's shell and Node.js blocks reach the deployed services (credentials from npm run outputs, as its comment says)", async () => {
    // The shell block's first line reads the dev server's file; its comment gives the deployed source.
    const shell = readmeSnippet("shell").replace(/^creds=.*$/m, "npm run -s outputs | jq .credentials >deployed-credentials.json; creds=deployed-credentials.json");
    expect(shell).toContain("deployed-credentials.json");
    // Inside the copy, so that the Node block resolves @nats-io/transport-node from its node_modules.
    writeFileSync(path.join(stack.dir, "connect.mjs"), readmeSnippet("node"));
    const script = `${shell}\nsleep 0.5\nnode connect.mjs\nstatus=$?\nkill %1 2>/dev/null\nexit $status\n`;
    const { stdout } = await run("bash", ["-c", script], { cwd: stack.dir, timeout: 60_000, env: stack.environment });
    expect(stdout.split("\n").filter((line) => line.startsWith("reply:"))).toEqual(['reply: {"id":42,"name":"Ada"}']);
  });

  test("no generated password in plaintext: not in the state files, not in `pulumi stack export`, not in `docker inspect`", async () => {
    const secrets = await passwords();
    expect(secrets.length).toBeGreaterThan(3);
    const exported = await stack.pulumi(["stack", "export"]);
    expect(exported.status).toBe(0);
    const inspected = docker(["inspect", ...containers()]).stdout;
    const places = { "state files": stack.readState(), "pulumi stack export": exported.stdout, "docker inspect": inspected };
    for (const [where, text] of Object.entries(places)) {
      expect(text.length, where).toBeGreaterThan(1000);
      expect(secrets.filter((secret) => text.includes(secret)), `passwords found in ${where}`).toEqual([]);
    }
  });
});

describe("the policy pack under the engine", () => {
  test("the dev stack passes `--policy-pack policies`", async () => {
    const preview = await stack.npm("preview", ["--policy-pack", "policies"]);
    expect(preview.status, tail(preview.stdout + preview.stderr)).toBe(0);
    expect(preview.stdout).toMatch(/Policy Packs run:\s+Name\s+Version\s+nats-infra\|local\|policies/);
    expect(preview.stdout).not.toMatch(/mandatory|advisory/);
  });

  test("a mandatory violation (ports on 0.0.0.0) stops `pulumi up` before anything changes", async () => {
    const before = await startedAt();
    const safe = stack.config;
    stack.setConfig({ ...safe, docker: { ...(safe.docker as object), bindAddress: "0.0.0.0" } });
    try {
      const up = await stack.npm("up", ["--yes", "--policy-pack", "policies"]);
      expect(up.status).not.toBe(0);
      expect(up.stdout + up.stderr).toContain("loopback-ports");
      expect(up.stdout + up.stderr).toMatch(/mandatory/);
    } finally {
      stack.setConfig(safe);
    }
    expect(await startedAt()).toBe(before);
    await stack.expectNoChanges();
  });
});

describe("npm run down, then up again", () => {
  test("connected clients get the lame duck notice, the JetStream volume stays, and the next up finds the stream and its messages", async () => {
    const outputs = await stack.outputs();
    const teacher = outputs.credentials["teacher-service"];
    const nc = await connect({ servers: teacher.url.split(","), user: teacher.user, pass: teacher.password, inboxPrefix: teacher.inboxPrefix, reconnect: false });
    const notices: string[] = [];
    void (async () => {
      for await (const status of nc.status()) notices.push(status.type);
    })();
    const js = jetstream(nc);
    for (let i = 1; i <= 25; i++) await js.publish("events.teacher", `event ${i}`);
    const volumes = stack.volumes();
    expect(volumes.length).toBe(1);

    const down = await stack.npmOk("down", ["--yes"]);
    expect(down.stdout).toMatch(/\d+ deleted/);
    await waitFor(async () => nc.isClosed(), 30_000, () => `the client was not closed by the server's stop; saw ${notices.join(", ")}`);
    expect(notices).toContain("ldm");
    expect(containers()).toEqual([]);
    expect(stack.volumes()).toEqual(volumes);

    await stack.npmOk("up", ["--yes"]);
    await stack.expectNoChanges();
    const admin = (await stack.outputs()).jetstreamAdmins.APP;
    const ac = await connect({ servers: teacher.url.split(","), user: admin.user, pass: admin.password, inboxPrefix: admin.inboxPrefix });
    try {
      const info = await (await jetstreamManager(ac)).streams.info("EVENTS");
      expect(info.state.messages).toBe(25);
    } finally {
      await ac.close();
    }
  });
});
