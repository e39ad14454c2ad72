// KV buckets and object stores reach `pulumi up`: an account that declares only a bucket still
// gets its reconciler command, with the bucket on stdin and its JetStream admin's password.
import { expect, test } from "vitest";
import { outputValue, runProgram, unwrapSecrets } from "../harness/pulumiMocks";

const SERVICES = [{ name: "sessions-service", publish: ["sessions.>"] }];

test("a bucket and a store without any stream: one command for their account, both on its stdin", async () => {
  const run = await runProgram({ services: SERVICES, kv: [{ bucket: "sessions" }], objectStores: [{ store: "reports" }] });
  const command = unwrapSecrets(run.byName("nats-streams-APP").inputs) as { stdin: string; environment: Record<string, string> };
  // Keyed by name, as streams are, so preview names the bucket and the field that changed.
  const stdin = JSON.parse(command.stdin) as { account: string; streams: object; kv?: Record<string, object>; objectStores?: Record<string, object> };
  expect(stdin.account).toBe("APP");
  expect(stdin.streams).toEqual({});
  expect(Object.keys(stdin.kv ?? {})).toEqual(["sessions"]);
  expect(Object.keys(stdin.objectStores ?? {})).toEqual(["reports"]);
  expect(command.environment.NATS_USER).toBe("_jsadmin_APP");
  const admins = await outputValue(run.exports.jetstreamAdmins as never);
  expect(Object.keys(admins as object)).toEqual(["APP"]);
});

test("a stack with none of them has no reconciler command, as before", async () => {
  const run = await runProgram({ services: SERVICES });
  expect(run.resources.filter((r) => r.name.startsWith("nats-streams"))).toEqual([]);
});
