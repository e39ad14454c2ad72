// `npx nats-infra <command>`: a mistyped command is refused with exit 2 and the command it most
// likely meant, then the list of commands.
import { expect, test } from "vitest";
import { natsInfra } from "../harness/cli";

test("a mistyped command: exit 2, did you mean the closest command, then the command list", async () => {
  const typo = await natsInfra("stauts");
  expect(typo.code).toBe(2);
  expect(typo.stdout).toBe("");
  expect(typo.stderr.split("\n")[0]).toBe('error: unknown command "stauts"; did you mean status?');
  expect(typo.stderr).toContain("usage: npx nats-infra <command> [flags]");

  for (const [typed, meant] of [
    ["helth", "health"],
    ["monitr", "monitor"],
    ["Logs", "logs"],
    ["testauth", "test-auth"],
    ["rest", "restart or restore"],
  ]) {
    expect((await natsInfra(typed)).stderr.split("\n")[0], typed).toBe(`error: unknown command "${typed}"; did you mean ${meant}?`);
  }
});

test("a word like no command gets no guess", async () => {
  for (const typed of ["deploy", "x", "up"]) {
    const run = await natsInfra(typed);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0], typed).toBe(`error: unknown command "${typed}"`);
  }
});
