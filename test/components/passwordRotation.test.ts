// `nats-infra rotate` on a deployed stack sets one service's passwordRotation: the next
// pulumi up must replace that one password and nothing else. Inputs of the resources an input
// change replaces are compared between the stack as deployed and the same stack with
// user-service rotated (the deployed-stack record, deployedStack.test.ts, covers the unrotated
// stack: no password has keepers there).
import { expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const REPLACED_ON_INPUT_CHANGE = ["random:index/randomPassword:RandomPassword", "docker:index/volume:Volume", "docker:index/network:Network", "docker:index/container:Container", "docker:index/remoteImage:RemoteImage"];

const inputsByName = (run: ProgramRun) =>
  Object.fromEntries(run.resources.filter((r) => REPLACED_ON_INPUT_CHANGE.includes(r.type)).map((r) => [r.name, unwrapSecrets(r.inputs) as Record<string, unknown>]));

test("one rotated service: only its password's inputs differ, by keepers; no other password has keepers", async () => {
  const raw = readStackFile(DEV_STACK_FIXTURE);
  const services = raw.services as Record<string, unknown>[];
  const deployed = inputsByName(await runProgram(raw));
  const rotated = inputsByName(await runProgram({ ...raw, services: services.map((s) => (s.name === "user-service" ? { ...s, passwordRotation: 1 } : s)) }));

  expect(Object.keys(rotated).sort()).toEqual(Object.keys(deployed).sort());
  const changed = Object.keys(deployed).filter((name) => JSON.stringify(deployed[name]) !== JSON.stringify(rotated[name]));
  expect(changed).toEqual(["nats-password-user-service"]);
  expect(rotated["nats-password-user-service"]).toEqual({ ...deployed["nats-password-user-service"], keepers: { passwordRotation: "1" } });
  for (const [name, inputs] of Object.entries(rotated)) if (name !== "nats-password-user-service") expect(inputs, name).not.toHaveProperty("keepers");
});
