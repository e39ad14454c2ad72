// Issue 17 on a 3-node cluster rendered as the product renders one: the same eavesdroppers and
// victims as eavesdrop.server.test.ts, spread over the nodes so that replies, KV gets and object
// chunks cross routes to reach the victims. The responder and the writer are on node 0, the
// victims on nodes 1 and 2, and the eavesdropper moves with the client (nats.js 0, natscli 1,
// nats-py 2, nats.go 0); the bucket and the store are R3, so their answers can come from any node.
//  - inboxes: private: no eavesdropper hears what the victims got back; every node refuses it
//    their prefixes (a refused subscription is not propagated, so no route carries it either).
//  - inboxes: shared (the control): it hears all of it, across the routes.
import { describe, test } from "vitest";
import type { Placement } from "./support/eavesdrop";
import { CLIENTS, type ClientName } from "./support/eavesdroppers";
import { threeNodes } from "./support/deployments";
import { deployedForBlock, overhear, runs } from "./support/eavesdropRuns";
import { expectEverythingHeard, expectNothingHeard } from "./support/verdicts";

const placement = (client: ClientName): Placement => ({
  responder: 0,
  writer: 0,
  victims: { "victim-a": 1, "victim-b": 2 },
  eavesdropper: CLIENTS.indexOf(client) % 3,
});

describe("3 nodes, inboxes: private", () => {
  const deployment = deployedForBlock(() => threeNodes("private"), 90_000);
  test.each(runs("private"))("$who on $client hears none of the victims' replies, KV values or objects; no node lets it have their prefixes", async ({ who, client }) => {
    expectNothingHeard(await overhear(deployment(), who, client, placement(client)));
  }, 45_000);
});

describe("3 nodes, inboxes: shared (the control)", () => {
  const deployment = deployedForBlock(() => threeNodes("shared"), 90_000);
  test.each(runs("shared"))("$who on $client hears every reply, KV value and object the victims got, across the routes", async ({ who, client }) => {
    expectEverythingHeard(await overhear(deployment(), who, client, placement(client)));
  }, 45_000);
});
