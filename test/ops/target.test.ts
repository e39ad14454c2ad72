// Which inbox prefix backup and restore connect a JetStream admin with, from a deployed stack's
// outputs (ops/target.ts), without a server: the one the outputs name, and for outputs written
// before private inboxes (no inboxPrefix: that deployment still grants its admins `_INBOX.>`) the
// clients' default.
import { expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { stackTarget } from "../../ops/target";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const config = parseStackConfig(readStackFile(DEV_STACK_FIXTURE)).config;
const endpoints = { client: "nats://127.0.0.1:4222", monitor: "http://127.0.0.1:8222" };

test("a stack's jetstreamAdmins output with inboxPrefix: the admin connects with it", () => {
  const target = stackTarget("dev", "Pulumi.dev.yaml", config, {
    endpoints,
    jetstreamAdmins: { APP: { user: "_jsadmin_APP", password: "pw", inboxPrefix: "_INBOX__jsadmin_APP" } },
  });
  expect(target.admins).toEqual({ APP: { user: "_jsadmin_APP", password: "pw", inboxPrefix: "_INBOX__jsadmin_APP" } });
});

test("outputs from before private inboxes (no inboxPrefix): _INBOX, what that deployment grants", () => {
  const target = stackTarget("dev", "Pulumi.dev.yaml", config, { endpoints, jetstreamAdmins: { APP: { user: "_jsadmin_APP", password: "pw" } } });
  expect(target.admins.APP.inboxPrefix).toBe("_INBOX");
});

test("a stack with no outputs (after npm run down): refused, except for clean, which gets its nodes and containers from the config", () => {
  expect(() => stackTarget("dev", "Pulumi.dev.yaml", config, {})).toThrow(/stack dev has no endpoints output; deploy it first/);
  const target = stackTarget("dev", "Pulumi.dev.yaml", config, {}, { undeployed: true });
  expect(target.nodes).toEqual([{ name: "nats-0", clientUrl: expect.stringMatching(/^nats:\/\/127\.0\.0\.1:\d+$/), monitorUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), container: { name: `${config.docker.namePrefix}-nats`, dockerHost: undefined } }]);
  expect(target.credentials).toEqual({});
});
