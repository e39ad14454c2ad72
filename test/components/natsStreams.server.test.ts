// NatsStreams under Pulumi mocks: one command per account, its streams' config as a visible input,
// the password only in the environment and marked secret; then the recorded command run for real
// against the pinned nats-server, exactly as Pulumi would run it.
import { spawnSync } from "node:child_process";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import type { StackConfigInput, StreamConfig } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { isSecretWrapper, unwrapSecrets as unwrap } from "../harness/mockState";
import { startNats, type RunningNats } from "../harness/natsServer";
import { plaintextOccurrences } from "../harness/pulumiMocks";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const COMMAND = "command:local:Command";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const recorded: Recorded[] = [];

type Module = typeof import("../../components/natsStreams");
let mod: Module;

beforeAll(async () => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "nats-infra",
    "dev",
    false,
  );
  // After setMocks: a static import would be hoisted above it and register against no engine.
  mod = await import("../../components/natsStreams");
});

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => (resolve(value), value)));
}

function streamsOf(input: Record<string, unknown>): StreamConfig[] {
  return parseStackConfig(input).config.streams;
}

/** Builds the component and waits until the engine has seen every command. */
async function build(name: string, streams: StreamConfig[], admins: Record<string, string>, natsUrl = "nats://127.0.0.1:4222") {
  const component = new mod.NatsStreams(name, {
    streams,
    natsUrl,
    admins: Object.fromEntries(Object.entries(admins).map(([account, password]) => [account, { user: jetstreamAdminUser(account), password: pulumi.secret(password) }])),
  });
  await Promise.all(Object.values(component.commands).map((c) => valueOf(c.urn)));
  const commands = recorded.filter((r) => r.type === COMMAND && r.name.startsWith(`${name}-`));
  return { component, commands };
}

const DEV = readStackFile(DEV_STACK_FIXTURE);
const TWO_ACCOUNTS: StackConfigInput = {
  services: [{ name: "svc", account: "APP" }],
  accounts: [{ name: "APP" }, { name: "BILLING" }],
  streams: [
    { name: "EVENTS", subjects: ["events.*"] },
    { name: "INVOICES", account: "BILLING", subjects: ["invoices.>"], maxMsgs: 10, consumers: [{ name: "mailer" }] },
  ],
};

describe("command resources", () => {
  test("one command per account, named after the account", async () => {
    const { commands } = await build("grain", streamsOf(TWO_ACCOUNTS), { APP: "app-secret-1", BILLING: "billing-secret-1" });
    expect(commands.map((c) => c.name).sort()).toEqual(["grain-APP", "grain-BILLING"]);
    expect(recorded.some((r) => r.type === "nats-infra:index:NatsStreams" && r.name === "grain")).toBe(true);
  });

  test("the account's streams are a plain input (stdin), keyed by name, that reads back as the declarations", async () => {
    const streams = streamsOf(DEV);
    const { component, commands } = await build("visible", streams, { APP: "dev-secret-2" });
    const [app] = commands;
    expect(isSecretWrapper(app.inputs.stdin)).toBe(false);
    expect(JSON.parse(app.inputs.stdin)).toEqual({ account: "APP", streams: { EVENTS: streams[0] } });
    expect(JSON.parse(app.inputs.stdin).streams.EVENTS).toMatchObject({ name: "EVENTS", maxMsgs: 1000000, consumers: [{ name: "notification-service" }] });
    expect(await pulumi.isSecret(component.commands.APP.stdin)).toBe(false);
  });

  test("the password is only in the environment, wrapped as a secret; command lines hold none", async () => {
    const password = "only-in-env-3";
    const { component, commands } = await build("secrets", streamsOf(TWO_ACCOUNTS), { APP: password, BILLING: "billing-secret-3" });
    for (const command of commands) {
      // The SDK marks the whole environment secret when one entry is: the reason the stream's
      // config travels on stdin, where preview can show it.
      expect(isSecretWrapper(command.inputs.environment)).toBe(true);
      expect(unwrap(command.inputs.environment)).toMatchObject({ NATS_URL: "nats://127.0.0.1:4222", NATS_USER: expect.stringMatching(/^_jsadmin_(APP|BILLING)$/) });
      for (const line of [command.inputs.create, command.inputs.update, command.inputs.delete]) {
        expect(line).not.toContain(password);
        expect(line).not.toContain("billing-secret-3");
      }
    }
    const billing = commands.find((c) => c.name.endsWith("BILLING"))!;
    expect(unwrap(billing.inputs.environment)).toMatchObject({ NATS_USER: "_jsadmin_BILLING", NATS_PASSWORD: "billing-secret-3" });
    // No input of any resource holds a password outside a secret wrapper.
    for (const resource of recorded) {
      expect(plaintextOccurrences(resource.inputs, [password, "billing-secret-3"])).toEqual([]);
    }
    expect(await pulumi.isSecret(component.commands.APP.environment)).toBe(true);
  });

  test("runs the repo's tsx on cli/streams.ts by absolute path, logs the plan, never deletes on delete", async () => {
    const { commands } = await build("lines", streamsOf(DEV), { APP: "dev-secret-4" });
    const [events] = commands;
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const cli = path.join(REPO_ROOT, "cli", "streams.ts");
    expect(events.inputs.create).toBe(`'${tsx}' '${cli}' apply --from-stdin`);
    expect(events.inputs.update).toBe(events.inputs.create);
    expect(events.inputs.delete).toBe(`'${tsx}' '${cli}' forget --from-stdin`);
    expect(events.inputs.dir).toBe(REPO_ROOT);
    expect(events.inputs.logging).toBe("stdoutAndStderr");
    expect(events.inputs.addPreviousOutputInEnv).toBe(false);
  });

  test("a stream whose account has no admin credentials is an error that says what to pass", async () => {
    expect(() => new mod.NatsStreams("missing", { streams: streamsOf(TWO_ACCOUNTS), natsUrl: "nats://127.0.0.1:4222", admins: { APP: { user: "_jsadmin_APP", password: "x" } } })).toThrow(
      /stream INVOICES is in account BILLING, but admins has no entry for it; pass admins\["BILLING"\]/,
    );
  });

  test("quotes the repo path for the shell", () => {
    expect(mod.shellQuote("/a b/it's")).toBe(`'/a b/it'\\''s'`);
  });
});

describe("the recorded command, run as Pulumi runs it", () => {
  let nats: RunningNats;
  beforeAll(async () => {
    nats = await startNats(DEV);
  });
  afterAll(async () => nats?.stop());

  function run(line: string, inputs: Record<string, any>) {
    const env = unwrap(inputs.environment) as Record<string, string>;
    const result = spawnSync("/bin/sh", ["-c", line], { cwd: inputs.dir, input: inputs.stdin, encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test("create makes the stream, a rerun changes nothing, delete keeps it", async () => {
    const admin = jetstreamAdminUser("APP");
    const { commands } = await build("real", streamsOf(DEV), { APP: nats.passwords[admin] }, nats.url);
    const [events] = commands;

    const created = run(events.inputs.create, events.inputs);
    expect(created.status, created.output).toBe(0);
    expect(created.output).toContain("+ create stream EVENTS");
    expect(created.output).not.toContain(nats.passwords[admin]);

    const again = run(events.inputs.update, events.inputs);
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("No changes");

    const deleted = run(events.inputs.delete, events.inputs);
    expect(deleted.status).toBe(0);
    expect(deleted.output).toContain("stream EVENTS (account APP) no longer managed by this stack: nats-infra leaves them on the server");

    const adminConnection = await connect({ servers: nats.url, ...nats.login(admin) });
    try {
      const info = await (await jetstreamManager(adminConnection)).streams.info("EVENTS");
      expect(info.config.max_msgs).toBe(1000000);
    } finally {
      await adminConnection.close();
    }
  });

  test("a stream dropped from an account's config is reported as kept by the next run, and stays on the server", async () => {
    const admin = jetstreamAdminUser("APP");
    const withAudit = { ...DEV, streams: [...(DEV.streams as object[]), { name: "AUDIT", subjects: ["audit.>"] }] };
    const two = streamsOf(withAudit);
    // The server's admin user must be allowed to create AUDIT: reload with the two-stream config.
    nats.rewrite(withAudit as StackConfigInput);
    await nats.reload();
    const before = (await build("drop-before", two, { APP: nats.passwords[admin] }, nats.url)).commands[0];
    const created = run(before.inputs.create, before.inputs);
    expect(created.status, created.output).toBe(0);

    const after = (await build("drop-after", streamsOf(DEV), { APP: nats.passwords[admin] }, nats.url)).commands[0];
    const updated = run(after.inputs.update, after.inputs);
    expect(updated.status, updated.output).toBe(0);
    expect(updated.output).toContain("AUDIT");
    expect(updated.output).toContain("is not in the config: left as it is");

    const adminConnection = await connect({ servers: nats.url, ...nats.login(admin) });
    try {
      const info = await (await jetstreamManager(adminConnection)).streams.info("AUDIT");
      expect(info.config.subjects).toEqual(["audit.>"]);
    } finally {
      await adminConnection.close();
    }
  });
});
