// Policies that read rendered config or the whole stack: tls-min-version (the nats.conf the
// config command carries), services-have-permissions and no-wide-publish (the permission
// entries), jetstream-data-retained (nats container + volume). Inputs come from the project's
// own renderers where they exist, so the policies read what a deployment really sends.
import { describe, expect, test } from "vitest";
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import { parseStackConfig, readStackFile } from "../../config/load";
import type { StackConfigInput } from "../../config/schema";
import { renderNatsConf } from "../../render/natsConf";
import { permissionsSummary } from "../../render/permissionsSummary";
import { jetstreamDataRetained, noWidePublish, privateInboxes, servicesHavePermissions, tlsMinVersion } from "../../policies/natsInfraPolicies";
import { RETAIN_LABEL } from "../../policies/jetstreamDataRetained";
import { tlsBlocks } from "../../policies/support/natsConfTls";
import { runPolicies, type ResourceRecord, type RunResult } from "../harness/runPolicies";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";
const DEV = readStackFile(DEV_STACK_FIXTURE) as StackConfigInput;

async function run(policies: Policies, records: ResourceRecord[], config: object = {}): Promise<RunResult> {
  const packConfig: PolicyPackConfig = Object.fromEntries(policies.map((p) => [p.name, config]));
  return runPolicies(policies, records, packConfig);
}
const messages = async (policies: Policies, records: ResourceRecord[], config: object = {}) => (await run(policies, records, config)).violations.map((v) => v.message);

/** The config command as the component builds it: rendered nats.conf plus permission entries. */
function configCommand(input: StackConfigInput): ResourceRecord {
  const { config } = parseStackConfig(input);
  return { type: COMMAND, name: "nats-config", props: { create: "bash components/apply-config.sh", environment: { NATS_CONF: renderNatsConf(config, { kind: "container" }), ...permissionsSummary(config) } } };
}

describe("tls-min-version", () => {
  const tls = { cert: "/srv/tls/cert.pem", key: "/srv/tls/key.pem" };

  test("no TLS configured: nothing to check", async () => {
    expect(await messages([tlsMinVersion], [configCommand(DEV)])).toEqual([]);
  });

  test("rendered TLS at the schema default (1.2) and at 1.3 passes", async () => {
    expect(await messages([tlsMinVersion], [configCommand({ ...DEV, tls })])).toEqual([]);
    expect(await messages([tlsMinVersion], [configCommand({ ...DEV, tls: { ...tls, minVersion: "1.3" } })])).toEqual([]);
  });

  test("minimumVersion 1.3 in the policy config refuses a 1.2 block, with the config key to change", async () => {
    const found = await messages([tlsMinVersion], [configCommand({ ...DEV, tls })], { minimumVersion: "1.3" });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("accepts TLS 1.2, older than 1.3");
    expect(found[0]).toContain("nats-infra:tls.minVersion");
  });

  test("an old min_version is refused in every tls block; a missing one counts as the server default 1.2", async () => {
    const conf = ['tls { cert_file: "/c", min_version: "1.1" }', "cluster {", "  port: 6222", "  tls = { cert_file = /c }", "}"].join("\n");
    const record: ResourceRecord = { type: COMMAND, name: "cfg", props: { environment: { NATS_CONF: conf } } };
    const found = await messages([tlsMinVersion], [record]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("the tls block of environment.NATS_CONF accepts TLS 1.1");
    const strict = await messages([tlsMinVersion], [record], { minimumVersion: "1.3" });
    expect(strict).toHaveLength(2);
    expect(strict[1]).toContain("the cluster.tls block of environment.NATS_CONF has no min_version, so it accepts the server's default TLS 1.2, older than 1.3");
  });

  test("other environment keys are not read as nats.conf unless configured", async () => {
    const props = { environment: { OTHER_CONF: 'tls { min_version: "1.0" }' } };
    expect(await messages([tlsMinVersion], [{ type: COMMAND, name: "cfg", props }])).toEqual([]);
    expect(await messages([tlsMinVersion], [{ type: COMMAND, name: "cfg", props }], { natsConfEnvKeys: ["OTHER_CONF"] })).toHaveLength(1);
  });

  // Every line below is accepted by nats-server 2.14.10 (-t) once the tls blocks name real
  // cert files; min_version must be quoted there ("1.3" unquoted is a float: "wrong type").
  test("the nats.conf scanner reads the syntaxes nats.conf allows", () => {
    const conf = [
      "# tls { min_version: 1.0 } in a comment is not a block",
      'listen: 0.0.0.0:4222',
      'authorization { users: [ { user: a, password: "}{" } ] }',
      'websocket { port: 8080, tls { min_version = "1.3" } }',
      '"leafnodes": { "tls": { "min_version": "1.2" } }',
      "tls {",
      "  cert_file /c",
      '  min_version "1.2"',
      "}",
      'include "auth.conf"',
    ].join("\n");
    expect(tlsBlocks(conf)).toEqual([
      { path: "websocket.tls", minVersion: "1.3" },
      { path: "leafnodes.tls", minVersion: "1.2" },
      { path: "tls", minVersion: "1.2" },
    ]);
  });
});

describe("services-have-permissions", () => {
  test("the dev stack's services all have subjects", async () => {
    expect(await messages([servicesHavePermissions], [configCommand(DEV)])).toEqual([]);
  });

  test("a service with nothing but its reply inbox is refused, internal users are not checked", async () => {
    const input = { ...DEV, services: [...(DEV.services ?? []), { name: "idle-service" }] };
    const found = await messages([servicesHavePermissions], [configCommand(input)]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("service idle-service (account APP) may neither publish nor subscribe to any subject");
    expect(found[0]).toContain("nats-infra:services");
  });

  test("a publish-only or subscribe-only service passes", async () => {
    const input = { services: [{ name: "emitter", publish: ["metrics.emitter"], requests: false }, { name: "sink", subscribe: ["metrics.>"], requests: false }] };
    expect(await messages([servicesHavePermissions], [configCommand(input)])).toEqual([]);
  });

  test("an entry that is not a permissions summary is reported, not silently skipped", async () => {
    const found = await messages([servicesHavePermissions], [{ type: COMMAND, name: "cfg", props: { environment: { NATS_PERMISSIONS_X: "{not json" } } }]);
    expect(found[0]).toContain("environment.NATS_PERMISSIONS_X is not a permissions entry");
  });

  test("a stack without permission entries is not applicable", async () => {
    const result = await run([servicesHavePermissions], [{ type: COMMAND, name: "x", props: { create: "true" } }]);
    expect(result.notApplicable.map((n) => n.policy)).toEqual(["services-have-permissions"]);
  });
});

describe("no-wide-publish", () => {
  test("the dev stack passes (the surveyor's $SYS requests are narrower than $SYS.>)", async () => {
    expect(await messages([noWidePublish], [configCommand(DEV)])).toEqual([]);
    expect(await messages([noWidePublish], [configCommand(DEV)], { includeInternalUsers: true })).toEqual([]);
  });

  test.each([
    [">", '">", which covers ">" and "$SYS.>"'],
    ["$SYS.>", '"$SYS.>", which covers "$SYS.>"'],
    ["*.>", '"*.>", which covers "$SYS.>"'],
  ])("publish %s is reported as advisory", async (subject, covered) => {
    const result = await run([noWidePublish], [configCommand({ services: [{ name: "wide-service", publish: [subject] }] })]);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0].enforcementLevel).toBe("advisory");
    expect(result.violations[0].message).toContain(`service wide-service (account APP) may publish to ${covered}`);
  });

  test("narrower patterns pass; forbiddenPublish and the level come from the config", async () => {
    const records = [configCommand({ services: [{ name: "orders", publish: ["orders.>", "$SYS.REQ.SERVER.PING"] }] })];
    expect(await messages([noWidePublish], records)).toEqual([]);
    const result = await runPolicies([noWidePublish], records, { "no-wide-publish": { enforcementLevel: "mandatory", forbiddenPublish: ["orders.created"] } });
    expect(result.violations.map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
  });
});

describe("jetstream-data-retained", () => {
  const natsContainer = (props: Record<string, unknown>): ResourceRecord => ({ type: CONTAINER, name: "nats-nats", props: { image: "nats:2.14.10-alpine", ...props } });
  const onVolume = natsContainer({ volumes: [{ volumeName: "js-data", containerPath: "/data" }] });
  const volume = (labels: { label: string; value: string }[], opts = {}): ResourceRecord => ({ type: VOLUME, name: "nats-data", props: { name: "js-data", labels }, opts });

  test("a named volume declared retained by label, or protected, passes", async () => {
    expect(await messages([jetstreamDataRetained], [onVolume, volume([{ label: RETAIN_LABEL, value: "true" }])])).toEqual([]);
    expect(await messages([jetstreamDataRetained], [onVolume, volume([], { protect: true })])).toEqual([]);
  });

  test("a stack-managed volume that would be deleted is refused, with both fixes", async () => {
    const found = await messages([jetstreamDataRetained], [onVolume, volume([{ label: "nats-infra.role", value: "jetstream-data" }])]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('volume "js-data" holds JetStream data of nats-nats but would be deleted');
    expect(found[0]).toContain("retainOnDelete: true");
    expect(found[0]).toContain("protect: true");
  });

  test("acceptRetainLabel false requires protect", async () => {
    const labelled = [onVolume, volume([{ label: RETAIN_LABEL, value: "true" }])];
    expect(await messages([jetstreamDataRetained], labelled, { acceptRetainLabel: false })).toHaveLength(1);
  });

  test("a volume this stack does not manage is outside its lifecycle and passes", async () => {
    expect(await messages([jetstreamDataRetained], [onVolume])).toEqual([]);
  });

  test("a volume mount given as mounts[] type volume is found too", async () => {
    const container = natsContainer({ mounts: [{ type: "volume", source: "js-data", target: "/data" }] });
    expect(await messages([jetstreamDataRetained], [container, volume([])])).toHaveLength(1);
  });

  test.each([
    [{}, "nothing is mounted on /data"],
    [{ volumes: [{ containerPath: "/data" }] }, "anonymous volume"],
    [{ volumes: [{ hostPath: "/srv/js", containerPath: "/data" }] }, "binds a host directory"],
    [{ mounts: [{ type: "bind", source: "/srv/js", target: "/data" }] }, "binds a host directory"],
  ])("data mount %j is refused", async (props, why) => {
    const found = await messages([jetstreamDataRetained], [natsContainer(props)]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(why);
  });

  test("a mount on a parent of the data path counts; dataPath comes from the config", async () => {
    const container = natsContainer({ volumes: [{ volumeName: "js-data", containerPath: "/srv" }] });
    expect(await messages([jetstreamDataRetained], [container], { dataPath: "/srv/jetstream" })).toEqual([]);
    expect(await messages([jetstreamDataRetained], [container])).toHaveLength(1);
  });

  test("containers that do not run nats-server are not checked", async () => {
    const result = await run([jetstreamDataRetained], [{ type: CONTAINER, name: "surveyor", props: { image: "natsio/nats-surveyor:0.9.11" } }]);
    expect(result.violations).toEqual([]);
    expect(result.notApplicable.map((n) => n.policy)).toEqual(["jetstream-data-retained"]);
  });
});

describe("policies/config.example.json", () => {
  test("names only policies of the pack and options their schemas declare, with values of the declared type", async () => {
    const { natsInfraPolicies } = await import("../../policies/natsInfraPolicies");
    const example = (await import("../../policies/config.example.json")).default as Record<string, unknown>;
    const byName = new Map(natsInfraPolicies.map((p) => [p.name, p]));
    expect(Object.keys(example).sort()).toEqual([...byName.keys()].sort());
    for (const [name, value] of Object.entries(example)) {
      if (typeof value === "string") {
        expect(["advisory", "mandatory", "disabled"]).toContain(value);
        continue;
      }
      const { enforcementLevel, ...options } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined) expect(["advisory", "mandatory", "disabled"]).toContain(enforcementLevel);
      const properties = byName.get(name)?.configSchema?.properties ?? {};
      for (const [option, setting] of Object.entries(options)) {
        const schema = properties[option];
        expect(schema, `${name}.${option}`).toBeDefined();
        const declared = typeof schema === "object" ? schema.type : undefined;
        const actual = Array.isArray(setting) ? "array" : Number.isInteger(setting) && declared === "integer" ? "integer" : typeof setting;
        expect(actual, `${name}.${option}`).toBe(declared);
      }
    }
  });
});

describe("private-inboxes", () => {
  test("the dev stack (inboxes: private) passes", async () => {
    expect(await messages([privateInboxes], [configCommand(DEV)])).toEqual([]);
  });

  test("a stack file without inboxes (shared, as before) is flagged per service that makes requests, naming who else reads its replies", async () => {
    const { inboxes: _private, ...shared } = DEV;
    const found = await messages([privateInboxes], [configCommand(shared)]);
    expect(found).toHaveLength(3);
    expect(found[0]).toBe(
      "service teacher-service (account APP) receives its replies on the shared _INBOX.>, which user-service, notification-service may read too: " +
        "give its clients the inboxPrefix of its credentials, then set nats-infra:inboxes: private (or inbox: private on this service) (docs/inboxes.md).",
    );
    const result = await run([privateInboxes], [configCommand(shared)]);
    expect(result.violations.map((v) => v.enforcementLevel)).toEqual(["advisory", "advisory", "advisory"]);
  });

  test("one service still shared (inbox: shared) is the only one flagged; one that makes no requests is not", async () => {
    const services = [{ name: "legacy", inbox: "shared", subscribe: ["a.>"] }, { name: "modern", subscribe: ["b.>"] }, { name: "sink", subscribe: ["c.>"], requests: false }];
    const found = await messages([privateInboxes], [configCommand({ inboxes: "private", services } as StackConfigInput)]);
    expect(found).toEqual([expect.stringMatching(/^service legacy \(account APP\) receives its replies on the shared _INBOX\.>, which every service of its account granted it may read/)]);
  });
});
