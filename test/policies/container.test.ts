// Container policies (loopback-ports, pinned-images, memory-limits) against hand-made passing
// and failing resources, called directly the way the analyzer calls them.
import { describe, expect, test } from "vitest";
import type { Policy, PolicyPackConfig } from "@pulumi/policy";
import { parseStackConfig, readStackFile } from "../../config/load";
import { natsContainerArgs } from "../../components/natsContainerSpec";
import { loopbackPorts, memoryLimits, pinnedImages } from "../../policies/natsInfraPolicies";
import { parseImageRef } from "../../policies/support/imageRef";
import { parseGoMemLimit } from "../../policies/support/goMemLimit";
import { runPolicies, type ResourceRecord } from "../harness/runPolicies";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../policies/support/values";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

const container = (props: Record<string, unknown>, name = "app"): ResourceRecord => ({ type: CONTAINER, name, props });
const mockSecret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

async function messages(policy: Policy, record: ResourceRecord, config: object = {}): Promise<string[]> {
  const packConfig: PolicyPackConfig = { [policy.name]: config };
  const { violations } = await runPolicies([policy as never], [record], packConfig);
  return violations.map((v) => v.message);
}

/** The nats container exactly as the component declares it for the dev stack. */
function devNatsContainer(): ResourceRecord {
  const { config } = parseStackConfig(readStackFile(DEV_STACK_FIXTURE));
  const args = natsContainerArgs({ config, image: "nats:2.14.10-alpine", configDir: "/srv/nats", volumeName: "nats-infra-jetstream", networkName: "net", restartKey: "k" });
  return container(args as unknown as Record<string, unknown>, "nats-nats");
}

describe("loopback-ports", () => {
  test("the component's nats container passes", async () => {
    expect(await messages(loopbackPorts, devNatsContainer())).toEqual([]);
  });

  test("IPv6 loopback passes; no ports at all passes", async () => {
    expect(await messages(loopbackPorts, container({ ports: [{ internal: 80, external: 8080, ip: "::1" }] }))).toEqual([]);
    expect(await messages(loopbackPorts, container({ image: "x:1.0" }))).toEqual([]);
  });

  test("a port without ip is bound on every interface and says how to fix it", async () => {
    const found = await messages(loopbackPorts, container({ ports: [{ internal: 4222, external: 4222 }] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("publishes port 4222 on 0.0.0.0");
    expect(found[0]).toContain('set ports[0].ip to "127.0.0.1"');
    expect(found[0]).toContain("allowedBindAddresses");
  });

  test("each public port is reported, loopback ones are not", async () => {
    const found = await messages(
      loopbackPorts,
      container({ ports: [{ internal: 1, external: 1, ip: "127.0.0.1" }, { internal: 2, external: 2, ip: "0.0.0.0" }, { internal: 3, ip: "192.0.2.10" }] }),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toContain("ports[1]");
    expect(found[1]).toContain("192.0.2.10 (a random host port)");
  });

  test("allowedBindAddresses lets an explicitly allowed address through", async () => {
    const record = container({ ports: [{ internal: 4222, external: 4222, ip: "192.0.2.10" }] });
    expect(await messages(loopbackPorts, record, { allowedBindAddresses: ["127.0.0.1", "192.0.2.10"] })).toEqual([]);
  });

  test("host networking is refused unless allowed", async () => {
    const record = container({ networkMode: "host" });
    expect((await messages(loopbackPorts, record))[0]).toContain('networkMode "host"');
    expect(await messages(loopbackPorts, record, { allowHostNetwork: true })).toEqual([]);
  });

  test("ports kept secret under mocks are read through the wrapper", async () => {
    const found = await messages(loopbackPorts, container({ ports: mockSecret([{ internal: 4222, external: 4222, ip: "0.0.0.0" }]) }));
    expect(found).toHaveLength(1);
  });

  test("other resource types are ignored", async () => {
    expect(await messages(loopbackPorts, { type: REMOTE_IMAGE, name: "img", props: { ports: [{ internal: 1 }] } })).toEqual([]);
  });
});

describe("pinned-images", () => {
  test.each([
    ["nats:2.14.10-alpine"],
    ["natsio/nats-surveyor:0.9.11"],
    ["registry.example:5000/team/nats:2.14.10"],
    [`nats@sha256:${"a".repeat(64)}`],
    [`nats:latest@sha256:${"b".repeat(64)}`],
    [`sha256:${"c".repeat(64)}`],
  ])("%s passes", async (image) => {
    expect(await messages(pinnedImages, container({ image }))).toEqual([]);
  });

  test.each([
    ["nats", "has no tag"],
    ["nats:latest", 'moving tag "latest"'],
    ["registry.example:5000/nats", "has no tag"],
    ["nats:alpine", "is not a version"],
    ["natsio/nats-box:edge", "is not a version"],
  ])("%s is refused (%s)", async (image, why) => {
    const found = await messages(pinnedImages, container({ image }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(why);
    expect(found[0]).toContain("pin it");
  });

  test("RemoteImage names are checked too", async () => {
    expect(await messages(pinnedImages, { type: REMOTE_IMAGE, name: "img", props: { name: "nats:latest" } })).toHaveLength(1);
    expect(await messages(pinnedImages, { type: REMOTE_IMAGE, name: "img", props: { name: "nats:2.14.10" } })).toEqual([]);
  });

  test("requireDigest refuses a version tag alone", async () => {
    const found = await messages(pinnedImages, container({ image: "nats:2.14.10" }), { requireDigest: true });
    expect(found[0]).toContain("requireDigest");
    expect(await messages(pinnedImages, container({ image: `nats:2.14.10@sha256:${"d".repeat(64)}` }), { requireDigest: true })).toEqual([]);
  });

  test("forbiddenTags and versionTagPattern come from the config", async () => {
    expect(await messages(pinnedImages, container({ image: "nats:2.14" }), { forbiddenTags: ["2.14"] })).toHaveLength(1);
    expect(await messages(pinnedImages, container({ image: "nats:stable" }), { versionTagPattern: "^(stable|[0-9.]+)$" })).toEqual([]);
  });

  test("image references parse into repository, tag and digest", () => {
    expect(parseImageRef("host:5000/a/b:1.2@sha256:ff")).toEqual({ repository: "host:5000/a/b", name: "b", tag: "1.2", digest: "sha256:ff" });
    expect(parseImageRef("nats")).toEqual({ repository: "nats", name: "nats", tag: undefined, digest: undefined });
  });
});

describe("memory-limits", () => {
  test("the component's nats container passes (memory and GOMEMLIMIT at 80%)", async () => {
    expect(await messages(memoryLimits, devNatsContainer())).toEqual([]);
  });

  test("a container without memory is refused", async () => {
    const found = await messages(memoryLimits, container({ image: "natsio/nats-surveyor:0.9.11" }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("has no memory limit");
    expect(found[0]).toContain("set memory");
    expect(await messages(memoryLimits, container({ image: "x:1", memory: 0 }))).toHaveLength(1);
  });

  test("a non-nats container with memory needs no GOMEMLIMIT", async () => {
    expect(await messages(memoryLimits, container({ image: "natsio/nats-surveyor:0.9.11", memory: 256 }))).toEqual([]);
  });

  test("a nats container without GOMEMLIMIT is refused, with the value to use", async () => {
    const found = await messages(memoryLimits, container({ image: "nats:2.14.10-alpine", memory: 1024, envs: ["A=b"] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("no GOMEMLIMIT");
    expect(found[0]).toContain("GOMEMLIMIT=819MiB");
  });

  test("a container that starts nats-server counts as nats whatever the image is called", async () => {
    const found = await messages(memoryLimits, container({ image: "local/test-server:1.0", entrypoints: ["/usr/local/bin/nats-server"], memory: 512 }));
    expect(found[0]).toContain("no GOMEMLIMIT");
  });

  test.each([
    ["GOMEMLIMIT=2GiB", "100%"],
    ["GOMEMLIMIT=100MiB", "5%"],
    ["GOMEMLIMIT=off", "turns the limit off"],
    ["GOMEMLIMIT=1.5GiB", "not a limit Go reads"],
    ["GOMEMLIMIT=1600MB", "not a limit Go reads"],
  ])("%s against a 2048 MB limit is refused (%s)", async (env, why) => {
    const found = await messages(memoryLimits, container({ image: "nats:2.14.10", memory: 2048, envs: [env] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(why);
  });

  test("GOMEMLIMIT inside a secret env list is still read", async () => {
    expect(await messages(memoryLimits, container({ image: "nats:2.14.10", memory: 2048, envs: mockSecret(["GOMEMLIMIT=1638MiB"]) }))).toEqual([]);
  });

  test("the accepted share comes from the config", async () => {
    const record = container({ image: "nats:2.14.10", memory: 1000, envs: ["GOMEMLIMIT=995MiB"] });
    expect(await messages(memoryLimits, record)).toHaveLength(1);
    expect(await messages(memoryLimits, record, { goMemLimitMaxPercent: 100 })).toEqual([]);
  });

  test("GOMEMLIMIT parses as the Go runtime reads it", () => {
    expect(parseGoMemLimit("1638MiB")).toBe(1638 * 1024 ** 2);
    expect(parseGoMemLimit("1073741824")).toBe(1024 ** 3);
    expect(parseGoMemLimit("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseGoMemLimit("2GB")).toBeUndefined();
  });
});
