import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { startNats, type RunningNats } from "../harness/natsServer";
import { DEV_STACK_FIXTURE } from "../harness/tools";

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats(readStackFile(DEV_STACK_FIXTURE));
});
afterAll(async () => nats?.stop());

test("the dev stack's server answers a service with its password", async () => {
  const nc = await connect({ servers: nats.url, user: "teacher-service", pass: nats.passwords["teacher-service"] });
  await nc.flush();
  expect(nc.info?.server_name).toBe("nats-0");
  await nc.close();
});
