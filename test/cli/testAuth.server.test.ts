// `nats-infra test-auth` against the dev stack run by the dev server (a real nats-server): every
// service as declared, its inbox private, with no message delivered to its real subscribers or
// the EVENTS stream; then the live auth.conf edited by hand and reloaded: an over-grant read from
// the server's own lists ($SYS.REQ.USER.INFO answers once `>` is publishable), an over-grant plus
// a missing grant seen by the probes, and grants on other users' inboxes, each reported with the
// service that could read whose replies; the same stack with shared inboxes: a warning, exit 0;
// no stack config: exit 2; the server down: exit 3.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { command } from "../../cli/commands/testAuth";
import type { Credential } from "../../config/credentials";
import { DevServer } from "../../ops/devServer";
import type { ServiceCheck } from "../../ops/testAuth";
import { configLoadTime, TEST_BCRYPT_COST } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE, toolPath } from "../harness/tools";
import type { CliRun } from "../harness/cli";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-test-auth-"));
const stateDir = path.join(scratch, "state");
const monitorUrl = () => dev.endpoints.monitor;
let dev: DevServer;

/** The command module as main() runs it (cli/commands/index.ts lists it under "test-auth"). */
async function testAuth(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await command.run(argv, { out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  const { config } = parseYaml(readFileSync(DEV_STACK_FIXTURE, "utf8")) as { config: Record<string, unknown> };
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: await freePort(), monitorPort: await freePort() };
  const stackFile = path.join(scratch, "Pulumi.dev.yaml");
  writeFileSync(stackFile, stringifyYaml({ config }));
  dev = await DevServer.start({ stackFile, stateDir, binary: toolPath("nats-server"), log: () => undefined, bcryptCost: TEST_BCRYPT_COST });
});

afterAll(async () => {
  await dev?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

const credentials = (): Record<string, Credential> => JSON.parse(readFileSync(path.join(stateDir, "credentials.json"), "utf8"));
const connectAs = (user: string): Promise<NatsConnection> =>
  connect({ servers: dev.endpoints.client, user, pass: credentials()[user].password, inboxPrefix: credentials()[user].inboxPrefix });
const checksOf = (run: CliRun) => (JSON.parse(run.stdout) as { checks: ServiceCheck[] }).checks;

/** Edits the live auth.conf as a person would (it is JSON after its comment line) and reloads the server. */
async function handEditAuthConf(edit: (users: Record<string, { permissions: Record<string, { allow?: string[] }> }>) => void): Promise<void> {
  const file = path.join(stateDir, "auth.conf");
  const [comment, ...rest] = readFileSync(file, "utf8").split("\n");
  const auth = JSON.parse(rest.join("\n")) as { accounts: Record<string, { users: { user: string }[] }> };
  const users = Object.fromEntries(Object.values(auth.accounts).flatMap((a) => a.users.map((u) => [u.user, u])));
  edit(users as never);
  writeFileSync(file, `${comment}\n${JSON.stringify(auth, null, 2)}\n`);
  const before = await configLoadTime(monitorUrl());
  process.kill(Number(readFileSync(path.join(stateDir, "nats-server.pid"), "utf8")), "SIGHUP");
  for (let i = 0; i < 100 && (await configLoadTime(monitorUrl())) === before; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await configLoadTime(monitorUrl()), "the server did not reload").not.toBe(before);
}

test("the dev stack as declared: every service connects, a wrong password is refused, permissions ok: exit 0, and no message reached anyone", async () => {
  // Real subscribers of each service, and the EVENTS stream (it captures events.*): they must see nothing.
  const received: string[] = [];
  const subscribers = await Promise.all(
    [["user-service", "user.>"], ["teacher-service", "teacher.>"], ["notification-service", "events.*"], ["notification-service", "notification.>"]].map(async ([user, subject]) => {
      const nc = await connectAs(user);
      nc.subscribe(subject, { callback: (_, msg) => void received.push(`${user} got ${msg.subject}`) });
      await nc.flush();
      return nc;
    }),
  );

  const text = await testAuth("--dev", stateDir);
  expect(text.code, text.stdout + text.stderr).toBe(0);
  const rows = text.stdout.split("\n").filter((line) => /^(teacher|user|notification)-service\s/.test(line));
  expect(rows).toHaveLength(3);
  for (const row of rows) expect(row).toMatch(/^\S+\s+ok\s+refused\s+ok\s+ok\s+not checked\s+private\s+probes \(\d+\)$/);
  expect(text.stdout).toContain("every service as declared");
  expect(text.stdout).not.toContain("warnings:");

  const json = await testAuth("--dev", stateDir, "--json");
  expect(json.code).toBe(0);
  const checks = checksOf(json);
  expect(checks.map((c) => [c.service, c.connects, c.wrongPasswordRefused, c.readBy, c.publish?.ok, c.subscribe?.ok, c.inboxes?.ok])).toEqual(
    ["teacher-service", "user-service", "notification-service"].map((s) => [s, true, true, "probe", true, true, true]),
  );
  // Every other private prefix of the account (services' and nats-infra's own users'), and
  // `_INBOX.>`: each refused outright, so no canary was published anywhere.
  const user = checks.find((c) => c.service === "user-service")!.inboxes!;
  expect(user.tried).toEqual(["_INBOX.>", "_INBOX_teacher-service.>", "_INBOX_notification-service.>", "_INBOX__tools.>", "_INBOX__jsadmin_APP.>"]);
  expect(user).toMatchObject({ readable: [], filtered: [] });

  for (const nc of subscribers) await nc.flush();
  expect(received).toEqual([]);
  const jsz = (await (await fetch(`${monitorUrl()}/jsz`)).json()) as { messages: number };
  expect(jsz.messages).toBe(0);
  await Promise.all(subscribers.map((nc) => nc.close()));
});

test("over-granted by hand (`>` added to teacher-service's publish allow) and reloaded: exit 1, that service and `>` named", async () => {
  await handEditAuthConf((users) => users["teacher-service"].permissions.publish.allow!.push(">"));
  const run = await testAuth("--dev", stateDir);
  expect(run.code, run.stdout + run.stderr).toBe(1);
  // USER.INFO is a request: its answer reached teacher-service under its own prefix.
  expect(run.stdout).toMatch(/^teacher-service\s+ok\s+refused\s+MISMATCH\s+ok\s+ok\s+private\s+\$SYS\.REQ\.USER\.INFO$/m);
  expect(run.stdout).toContain("teacher-service (nats-0) publish: on the server, not declared: allow >");
  expect(run.stdout).toMatch(/^user-service\s+ok\s+refused\s+ok\s+ok\s+not checked/m);
  const teacher = checksOf(await testAuth("--dev", stateDir, "--json")).find((c) => c.service === "teacher-service")!;
  expect(teacher.publish).toEqual({ ok: false, serverOnly: ["allow >"], declaredOnly: [] });
  expect(teacher.responses?.ok).toBe(true);
});

test("a grant added and one taken away where the server refuses USER.INFO: the probes name both subjects", async () => {
  await handEditAuthConf((users) => {
    const { permissions } = users["user-service"];
    permissions.subscribe.allow!.push("teacher.>");
    permissions.publish.allow = permissions.publish.allow!.filter((s) => s !== "events.user");
  });
  const run = await testAuth("--dev", stateDir);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/^user-service\s+ok\s+refused\s+MISMATCH\s+MISMATCH\s+not checked\s+private\s+probes/m);
  expect(run.stdout).toContain("user-service (nats-0) subscribe: on the server, not declared: allow teacher.test-auth, allow teacher.>");
  expect(run.stdout).toContain("user-service (nats-0) publish: declared, not on the server: allow events.user");
});

test("another's inbox granted by hand: exit 1, each service named with whose replies it could read and what to do", async () => {
  await handEditAuthConf((users) => {
    // A subscription only: user-service may not publish there, so no canary shows delivery.
    users["user-service"].permissions.subscribe.allow!.push("_INBOX_teacher-service.>");
    // teacher-service may publish everywhere since the test above: its canary reaches it.
    users["teacher-service"].permissions.subscribe.allow!.push("_INBOX_user-service.>");
    users["notification-service"].permissions.subscribe.allow!.push("_INBOX.>");
  });
  const run = await testAuth("--dev", stateDir);
  expect(run.code, run.stdout + run.stderr).toBe(1);
  for (const service of ["teacher-service", "user-service", "notification-service"]) expect(run.stdout).toMatch(new RegExp(`^${service}\\s.*\\sREADABLE\\s`, "m"));
  const redeploy = "The stack config denies that, so the live auth.conf is not the stack's: deploy it again (npm run up; a dev server: restart it), then run test-auth again.";
  expect(run.stdout).toContain(
    "user-service (nats-0) inboxes: can read teacher-service's replies: the server lets it subscribe to _INBOX_teacher-service.> " +
      `(the server accepted the subscription; the service may not publish a canary there to see whether it is filtered). ${redeploy}`,
  );
  expect(run.stdout).toContain(
    `teacher-service (nats-0) inboxes: can read user-service's replies: the server lets it subscribe to _INBOX_user-service.> (a canary published there reached it). ${redeploy}`,
  );
  expect(run.stdout).toContain(
    "notification-service (nats-0) inboxes: can read the replies of every client of its account on the default prefix _INBOX, though its own inbox is private: " +
      "the server lets it subscribe to _INBOX.> (the server accepted the subscription",
  );
  const checks = checksOf(await testAuth("--dev", stateDir, "--json"));
  expect(checks.map((c) => [c.service, c.inboxes?.ok, c.inboxes?.readable])).toEqual([
    ["teacher-service", false, [{ subject: "_INBOX_user-service.>", owner: "user-service", proof: "received" }]],
    ["user-service", false, [{ subject: "_INBOX_teacher-service.>", owner: "teacher-service", proof: "subscribed" }]],
    ["notification-service", false, [{ subject: "_INBOX.>", owner: "_INBOX", proof: "subscribed" }]],
  ]);
});

test("the dev stack with shared inboxes: its services sharing _INBOX.> is a warning, not a failure: exit 0", async () => {
  const sharedDir = path.join(scratch, "shared");
  const { config } = parseYaml(readFileSync(DEV_STACK_FIXTURE, "utf8")) as { config: Record<string, unknown> };
  config["nats-infra:inboxes"] = "shared";
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: await freePort(), monitorPort: await freePort() };
  const stackFile = path.join(scratch, "Pulumi.shared.yaml");
  writeFileSync(stackFile, stringifyYaml({ config }));
  const shared = await DevServer.start({ stackFile, stateDir: sharedDir, binary: toolPath("nats-server"), log: () => undefined, bcryptCost: TEST_BCRYPT_COST });
  try {
    const run = await testAuth("--dev", sharedDir);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("every service as declared");
    expect(run.stdout).toContain(
      "warnings:\n  services teacher-service, user-service, notification-service of account APP share _INBOX.>: each can read the others' replies (KV and object reads included). " +
        "docs/inboxes.md says how to move them to private inboxes.",
    );
    // `_INBOX.>` is theirs to read; nats-infra's own users' inboxes are still closed to them.
    const checks = checksOf(await testAuth("--dev", sharedDir, "--json"));
    expect(checks.map((c) => [c.service, c.inboxes?.ok, c.inboxes?.tried])).toEqual(
      ["teacher-service", "user-service", "notification-service"].map((s) => [s, true, ["_INBOX__tools.>", "_INBOX__jsadmin_APP.>"]]),
    );
  } finally {
    await shared.kill();
  }
});

test("a target without a stack config: exit 2, one line, nothing checked", async () => {
  const credentialsFile = path.join(stateDir, "credentials.json");
  const run = await testAuth("--url", dev.endpoints.client, "--monitor-url", monitorUrl(), "--credentials", credentialsFile);
  expect(run.code).toBe(2);
  expect(run.stderr).toBe("error: test-auth compares the server with the stack config, and --url has none: use --stack NAME or --dev\n");
  expect(run.stdout).toBe("");
});

test("the server down: exit 3", async () => {
  await dev.kill();
  const run = await testAuth("--dev", stateDir);
  expect(run.code).toBe(3);
  expect(run.stderr).toBe(`error: cannot reach the server: ${dev.endpoints.client}: connection refused\n`);
  expect(run.stderr).not.toMatch(/^\s+at /m);
});
