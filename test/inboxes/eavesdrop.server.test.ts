// Issue 17, on one server: two victims make requests, get KV values (STREAM.MSG.GET, DIRECT.GET,
// history through an ordered consumer) and read objects, with nats.js on the prefix their
// credentials carry, while an eavesdropper listens on everything it can ask for, victims'
// `_INBOX_<victim>.>` included. Two eavesdroppers (support/eavesdropStack.ts): `tap`, allowed
// `>`, and `snoop`, allowed the shared `_INBOX.>` and every subject tree the traffic uses. Each
// listens with each of the four clients in turn: nats.js, natscli, nats-py and nats.go
// (nats-infra-goclient).
//  - inboxes: private: snoop hears none of what the victims got back, while they got all of it;
//    the server refuses it the victims' prefixes. tap cannot exist there: the config refuses a
//    wildcard that reaches into another service's inbox (a deny would not stop JetStream's
//    pushes there, which arrive under the stream's subjects: with a deny only, tap heard the
//    victims' KV history and objects with every client).
//  - inboxes: shared, the same stack otherwise (the control): it hears every reply, KV value and
//    object, so the test can fail.
import { describe, expect, test } from "vitest";
import type { Placement } from "./support/eavesdrop";
import { singleServer } from "./support/deployments";
import { deployedForBlock, overhear, runs } from "./support/eavesdropRuns";
import { expectEverythingHeard, expectNothingHeard } from "./support/verdicts";
import { eavesdropStack } from "./support/eavesdropStack";
import { parseStackConfig, StackConfigError } from "../../config/load";

const ONE_SERVER: Placement = { responder: 0, writer: 0, victims: { "victim-a": 0, "victim-b": 0 }, eavesdropper: 0 };

describe("inboxes: private", () => {
  const deployment = deployedForBlock(() => singleServer("private"), 30_000);
  test.each(runs("private"))("$who on $client hears none of the victims' replies, KV values or objects; the server refuses it their prefixes", async ({ who, client }) => {
    expectNothingHeard(await overhear(deployment(), who, client, ONE_SERVER));
  }, 30_000);
});

test("inboxes: private: tap, subscribing `>`, is refused by the config, naming the victims whose inboxes it would reach", () => {
  let problems: StackConfigError["problems"] = [];
  try {
    parseStackConfig(eavesdropStack("private", 1, ["tap", "snoop"]));
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    problems = error.problems;
  }
  expect(problems.map((p) => p.path)).toEqual(["nats-infra:services[4].subscribe[0]"]);
  expect(problems[0].message).toMatch(/^">" reaches into the private inbox of victim-a, victim-b, writer, where nats-server delivers their JetStream reads/);
});

describe("inboxes: shared (the control)", () => {
  const deployment = deployedForBlock(() => singleServer("shared"), 30_000);
  test.each(runs("shared"))("$who on $client hears every reply, KV value and object the victims got", async ({ who, client }) => {
    expectEverythingHeard(await overhear(deployment(), who, client, ONE_SERVER));
  }, 30_000);
});
