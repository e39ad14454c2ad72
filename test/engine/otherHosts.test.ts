// The harness's other Docker hosts leave this machine as they found it: an engine of theirs
// coming back after a stop or a crash must not take the machine's default bridge with it (Docker
// 20.10 deletes `docker0` then; see DefaultBridge in test/harness/secondHost.ts), or every later
// container on the machine's default network fails to start.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dockerOk } from "../harness/docker";
import { prepareEngine, type StackImages } from "../harness/engine";
import { ClientKey, DefaultBridge, SecondHost } from "../harness/secondHost";

let images: StackImages;
let key: ClientKey;
let host: SecondHost | undefined;

beforeAll(async () => {
  images = prepareEngine();
  key = new ClientKey();
  host = await SecondHost.start(key);
});

afterAll(async () => {
  await host?.dispose();
  key?.dispose();
});

/** The machine's engine can still start a container on its default network. */
const defaultNetworkWorks = () => dockerOk(["run", "--rm", "--network", "bridge", images.nats, "--version"]);

describe("another Docker host on this machine", () => {
  test("coming back after a stop and after a crash keeps the machine's default bridge and its addresses", async () => {
    const before = DefaultBridge.remember();
    expect(DefaultBridge.exists(), "the machine's engine has its default bridge before the test").toBe(true);
    await host!.stopEngine();
    await host!.startEngine();
    expect(DefaultBridge.exists()).toBe(true);
    expect(DefaultBridge.remember()).toEqual(before);
    expect(defaultNetworkWorks()).toMatch(/nats-server/);
    await host!.crashEngine();
    await host!.startEngine();
    expect(DefaultBridge.remember()).toEqual(before);
    expect(defaultNetworkWorks()).toMatch(/nats-server/);
    expect(host!.engineAnswers()).toBe(true);
  });
});
