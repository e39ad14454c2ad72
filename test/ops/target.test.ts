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
