// cluster-route-tls against hand-made containers (a route port published beyond loopback, with
// and without the route TLS files mounted; the ports that are not routes; each value shape a
// policy receives) and against the 3-host stack under Pulumi mocks (test/components/multiHost.test.ts).
import { describe, expect, test } from "vitest";
import { unknownCheckingProxy, type PolicyPackConfig } from "@pulumi/policy";
import { readStackFile } from "../../config/load";
import { CONTAINER_ROUTE_TLS_FILES } from "../../config/container";
import { clusterRouteTls, natsInfraPolicies } from "../../policies/natsInfraPolicies";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../policies/support/values";
import { runPolicies, type ResourceRecord } from "../harness/runPolicies";
import { runProgram, type RecordedResource } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const NATS_IMAGE = "nats:2.14.10-alpine";
const ROUTE_TLS_MOUNTS = Object.values(CONTAINER_ROUTE_TLS_FILES).map((target) => ({ type: "bind", source: `/etc/nats-infra${target}`, target, readOnly: true }));
const CONFIG_MOUNT = { type: "bind", source: "/srv/nats/config-1", target: "/etc/nats", readOnly: true };
const CLIENT_PORTS = [
  { internal: 4222, external: 4223, ip: "10.0.0.6" },
  { internal: 8222, external: 8223, ip: "10.0.0.6" },
];
const mockSecret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
/** The SDK's sentinel for an array that is unknown during preview. */
const UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";

const natsContainer = (props: Record<string, unknown>, name = "nats-nats-1"): ResourceRecord => ({ type: CONTAINER, name, props: { image: NATS_IMAGE, ...props } });

async function messages(record: ResourceRecord, config: object = {}): Promise<string[]> {
  const { violations } = await runPolicies([clusterRouteTls], [record], { [clusterRouteTls.name]: config });
  return violations.map((v) => v.message);
}

describe("cluster-route-tls on hand-made containers", () => {
  test("a route port on a host address without the route TLS files: a violation naming the port, the address, the missing files and the fix", async () => {
    const found = await messages(natsContainer({ ports: [...CLIENT_PORTS, { internal: 6222, external: 6222, ip: "10.0.0.6" }], mounts: [CONFIG_MOUNT] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("container nats-nats-1 publishes route port 6222 on 10.0.0.6 (ports[2])");
    expect(found[0]).toContain(Object.values(CONTAINER_ROUTE_TLS_FILES).join(", "));
    expect(found[0]).toContain("Set nats-infra:cluster.tls");
  });

  test("the same container with the three route TLS files mounted passes, as mounts or as volumes", async () => {
    expect(await messages(natsContainer({ ports: [...CLIENT_PORTS, { internal: 6222, external: 6222, ip: "10.0.0.6" }], mounts: [CONFIG_MOUNT, ...ROUTE_TLS_MOUNTS] }))).toEqual([]);
    const volumes = ROUTE_TLS_MOUNTS.map((m) => ({ hostPath: m.source, containerPath: m.target, readOnly: true }));
    expect(await messages(natsContainer({ ports: [{ internal: 6222, external: 6222, ip: "10.0.0.6" }], volumes }))).toEqual([]);
  });

  test("one TLS file missing is still a violation, naming it", async () => {
    const found = await messages(natsContainer({ ports: [{ internal: 6222, external: 6222, ip: "10.0.0.6" }], mounts: ROUTE_TLS_MOUNTS.slice(0, 2) }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`without the route TLS files mounted (${CONTAINER_ROUTE_TLS_FILES.ca})`);
  });

  test("any route port counts (not only 6222); a port without ip is on every interface", async () => {
    const found = await messages(natsContainer({ ports: [{ internal: 7250, external: 7250 }] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("publishes route port 7250 on 0.0.0.0");
  });

  test("not routes: client and monitoring ports anywhere, any port on loopback, ports listed in nonRoutePorts, other images", async () => {
    expect(await messages(natsContainer({ ports: [{ internal: 4222, external: 4222, ip: "0.0.0.0" }, { internal: 8222, external: 8222 }] }))).toEqual([]);
    expect(await messages(natsContainer({ ports: [{ internal: 6222, external: 6222, ip: "127.0.0.1" }, { internal: 6222, external: 6223, ip: "::1" }] }))).toEqual([]);
    expect(await messages(natsContainer({ ports: [{ internal: 7422, external: 7422, ip: "10.0.0.6" }] }), { nonRoutePorts: [4222, 8222, 7422] })).toEqual([]);
    expect(await messages({ type: CONTAINER, name: "web", props: { image: "nginx:1.27", ports: [{ internal: 6222, external: 6222 }] } })).toEqual([]);
  });

  test("secret-wrapped values are read through; values unknown during preview skip the check", async () => {
    const secretPorts = natsContainer({ ports: mockSecret([{ internal: 6222, external: 6222, ip: mockSecret("10.0.0.6") }]), mounts: mockSecret([CONFIG_MOUNT]) });
    expect(await messages(secretPorts)).toHaveLength(1);
    // Behind the SDK's own proxy, as the CLI hands them over.
    const unknownMounts = unknownCheckingProxy({ image: NATS_IMAGE, ports: [{ internal: 6222, external: 6222, ip: "10.0.0.6" }], mounts: UNKNOWN_ARRAY }) as Record<string, unknown>;
    expect(await messages({ type: CONTAINER, name: "nats-nats-1", props: unknownMounts })).toEqual([]);
  });
});

describe("cluster-route-tls on the 3-host stack under mocks", () => {
  const nodes = [{ address: "10.0.0.5" }, { address: "10.0.0.6", dockerHost: "ssh://admin@10.0.0.6" }, { address: "10.0.0.7", dockerHost: "ssh://admin@10.0.0.7" }];
  const tls = { cert: "/etc/nats-infra/route-cert.pem", key: "/etc/nats-infra/route-key.pem", ca: "/etc/nats-infra/route-ca.pem" };
  const toRecord = (r: RecordedResource): ResourceRecord => ({ type: r.type, name: r.name, props: r.inputs, outputs: { ...r.state, ...r.inputs }, opts: { protect: r.options.protect, parent: r.options.parent || undefined } });

  test("every node publishes its route port on its address with route TLS: zero violations, from it and from the whole pack", async () => {
    const run = await runProgram({ ...readStackFile(DEV_STACK_FIXTURE), cluster: { nodes, tls } });
    const records = run.resources.map(toRecord);
    const routePorts = run.ofType(CONTAINER).filter((c) => JSON.stringify(c.inputs.ports).includes('"internal":6222'));
    expect(routePorts.map((c) => c.name).sort()).toEqual(["nats-nats", "nats-nats-1", "nats-nats-2"]);
    expect((await runPolicies([clusterRouteTls], records)).violations).toEqual([]);
    // The pack as a whole: the nodes' addresses allowed for loopback-ports (they must be reachable), secret marks demanded.
    const config: PolicyPackConfig = {
      "loopback-ports": { allowedBindAddresses: ["127.0.0.1", "::1", ...nodes.map((n) => n.address)] },
      "no-plaintext-secrets": { secretMarkersVisible: true },
      "no-password-leaks": { secretMarkersVisible: true },
    };
    const result = await runPolicies(natsInfraPolicies, records, config);
    expect(result.violations.map((v) => `${v.policy} ${v.resource ?? ""}: ${v.message}`)).toEqual([]);
  });

  test("a node container of that stack stripped of its route TLS mounts is caught", async () => {
    const run = await runProgram({ ...readStackFile(DEV_STACK_FIXTURE), cluster: { nodes, tls } });
    const node = run.byName("nats-nats-2");
    const stripped = { ...toRecord(node), props: { ...node.inputs, mounts: (node.inputs.mounts as { target: string }[]).filter((m) => !m.target.startsWith("/etc/nats-tls/")) } };
    const { violations } = await runPolicies([clusterRouteTls], [stripped]);
    expect(violations.map((v) => v.message)).toEqual([expect.stringContaining("container nats-nats-2 publishes route port 6222 on 10.0.0.7")]);
  });
});
