// The Pulumi program under mocks: the whole resource graph, where secrets go, and what a config
// change touches (the blast radius a person sees in `pulumi preview`).
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../config/load";
import versions from "../../config/versions.json";
import { goMemLimit } from "../../config/container";
import { RESTART_KEY_LABEL } from "../../components/restartKey";
import { permissionsEnvKey } from "../../render/permissionsSummary";
import { isSecretWrapper, outputValue, plaintextOccurrences, runProgram, unwrapSecrets, type ProgramRun, type RecordedResource } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const DEV = readStackFile(DEV_STACK_FIXTURE);
const DEV_SERVICES = (DEV.services as { name: string }[]).map((s) => s.name);

const plain = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
const withDocker = (docker: object) => ({ ...DEV, docker });

let dev: ProgramRun;
beforeAll(async () => {
  dev = await runProgram(DEV);
});

describe("resource graph of the default stack", () => {
  test("one generated password per service, plus the internal users", () => {
    const owners = dev.ofType(PASSWORD).map((r) => r.name.replace(/^nats-password-/, ""));
    expect(owners.sort()).toEqual([...DEV_SERVICES, "_surveyor", "_tools", "_jsadmin_APP", "_observer"].sort());
    for (const password of dev.ofType(PASSWORD)) {
      expect(plain(password)).toMatchObject({ length: 32, special: true, overrideSpecial: "-_" });
    }
  });

  test("every published port of every container binds to 127.0.0.1", () => {
    const containers = dev.ofType(CONTAINER);
    expect(containers.map((c) => c.name).sort()).toEqual(["nats-nats", "nats-surveyor"]);
    const ports = containers.flatMap((c) => (plain(c).ports ?? []) as { ip?: string; external?: number }[]);
    expect(ports.map((p) => p.external).sort()).toEqual([4222, 7777, 8222]);
    for (const port of ports) expect(port.ip).toBe("127.0.0.1");
  });

  test("images are the ones pinned in config/versions.json", () => {
    expect(plain(dev.byName("nats-nats")).image).toBe(versions.natsServer.image);
    expect(plain(dev.byName("nats-surveyor")).image).toBe(versions.surveyor.image);
    expect(versions.natsServer.image).toMatch(/:\d+\.\d+\.\d+/);
  });

  test("JetStream data lives on a named volume that destroy and replacement keep", () => {
    const volume = dev.byName("nats-data");
    expect(volume.options.retainOnDelete).toBe(true);
    expect(plain(volume).name).toBe("nats-infra-jetstream");
    expect(plain(dev.byName("nats-nats")).volumes).toEqual([{ volumeName: "nats-infra-jetstream", containerPath: "/data" }]);
  });

  test("nats container: limits from config, GOMEMLIMIT at 80%, lame duck stop, health gate", () => {
    const nats = dev.byName("nats-nats");
    const inputs = plain(nats);
    expect(inputs.memory).toBe(2048);
    // As the provider reads them back (config/dockerReadBack.ts): no diff on the next preview.
    expect(inputs.cpus).toBe("2.0");
    expect(inputs.memorySwap).toBe(2048);
    expect(inputs.envs).toContain(`GOMEMLIMIT=${goMemLimit(2 * 1024 ** 3)}`);
    expect(goMemLimit(2 * 1024 ** 3)).toBe("1638MiB");
    expect(inputs.stopSignal).toBe("SIGUSR2");
    expect(inputs.stopTimeout).toBeGreaterThan(30);
    expect(inputs.healthcheck.tests.join(" ")).toContain("/healthz?js-enabled-only=true");
    expect(inputs.wait).toBe(true);
    expect(inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
    expect(inputs.mounts).toEqual([{ type: "bind", source: expect.stringMatching(/\.nats-infra\/dev\/config$/), target: "/etc/nats", readOnly: true }]);
    expect(nats.options.deleteBeforeReplace).toBe(true);
    expect(nats.options.replaceOnChanges).toContain("healthcheck");
    // The config must be on disk before the server starts.
    expect(nats.options.dependencies.some((urn) => urn.endsWith("::nats-config"))).toBe(true);
  });

  test("every child is parented to the component (stream commands through its NatsStreams child)", () => {
    for (const resource of dev.resources.filter((r) => r.type !== "nats-infra:index:NatsCluster")) {
      const parent = resource.type === "command:local:Command" && resource.name !== "nats-config" ? /nats-infra:index:NatsStreams::nats-streams$/ : /nats-infra:index:NatsCluster::nats$/;
      expect(resource.options.parent, resource.name).toMatch(parent);
    }
  });

  test("the APP account's streams are applied by one command, after the container and the auth reload", () => {
    const events = dev.byName("nats-streams-APP");
    const deps = events.options.dependencies;
    expect(deps.some((urn) => urn.endsWith("::nats-config"))).toBe(true);
    expect(deps.some((urn) => urn.endsWith("::nats-nats"))).toBe(true);
    const inputs = plain(events);
    expect(JSON.parse(inputs.stdin).streams.EVENTS).toMatchObject({ name: "EVENTS", subjects: ["events.*"], maxMsgs: 1000000 });
    expect(inputs.environment).toMatchObject({ NATS_URL: "nats://127.0.0.1:4222", NATS_USER: "_jsadmin_APP" });
    expect(isSecretWrapper(events.inputs.environment)).toBe(true);
  });

  test("Surveyor and nats-box follow the config", async () => {
    const off = await runProgram(withDocker({ surveyor: { enabled: false }, natsBox: { enabled: true } }));
    expect(off.ofType(CONTAINER).map((c) => c.name).sort()).toEqual(["nats-nats", "nats-nats-box"]);
    const box = plain(off.byName("nats-nats-box"));
    expect(box.image).toBe(versions.natscli.image);
    // natscli reads its URL, user and password from the uploaded context file NATS_CONTEXT names.
    expect(box.envs).toEqual(["NATS_CONTEXT=/etc/nats-infra/nats-context.json"]);
    expect(box.uploads.map((u: { file: string }) => u.file)).toEqual(["/etc/nats-infra/nats-context.json"]);
    // The observer, with the inbox prefix it may use and the default account's read-only JetStream API.
    const context = JSON.parse(box.uploads[0].content);
    expect(context).toEqual({ url: "nats://nats:4222", user: "_observer", password: expect.any(String), inbox_prefix: "_INBOX_observer", jetstream_api_prefix: "jsapi.APP" });
    expect(context.password).toBe(unwrapSecrets(off.byName("nats-password-_observer").state.result));
    expect(box.ports).toBeUndefined();
  });
});

describe("secrets", () => {
  test("no generated password appears in any resource input outside a secret", () => {
    expect(dev.passwords.length).toBe(7);
    const leaks = dev.resources.flatMap((r) => plaintextOccurrences(r.inputs, dev.passwords).map((p) => `${r.name}: ${p}`));
    expect(leaks).toEqual([]);
  });

  test("the same holds with nats-box on", async () => {
    const run = await runProgram(withDocker({ natsBox: { enabled: true } }));
    const leaks = run.resources.flatMap((r) => plaintextOccurrences(r.inputs, run.passwords).map((p) => `${r.name}: ${p}`));
    expect(leaks).toEqual([]);
    expect(isSecretWrapper(run.byName("nats-nats-box").inputs.uploads)).toBe(true);
  });

  test("passwords reach containers and commands only as secrets, never on a command line", () => {
    const config = dev.byName("nats-config");
    expect(isSecretWrapper(config.inputs.stdin)).toBe(true);
    // Nothing secret in the environment: preview shows each entry as it changes.
    expect(isSecretWrapper(config.inputs.environment)).toBe(false);
    expect(typeof (config.inputs.environment as Record<string, unknown>).NATS_CONF).toBe("string");
    for (const key of ["create", "update", "delete"]) expect(config.inputs[key]).toMatch(/^bash components\/apply-config\.sh( delete)?$/);
    expect(plain(config).logging).toBe("none");
    // Sidecars get theirs in uploaded files (secret), never in an environment `docker inspect` shows.
    expect(isSecretWrapper(dev.byName("nats-surveyor").inputs.uploads)).toBe(true);
  });

  test("auth.conf holds bcrypt hashes, not passwords", () => {
    const authConf = plain(dev.byName("nats-config")).stdin as string;
    for (const password of dev.passwords) expect(authConf).not.toContain(password);
    expect(authConf.match(/"\$2a\$04\$/g)?.length).toBe(7);
  });

  test("the credentials output is secret and holds user, password, account, URL and inbox prefix per service", async () => {
    const credentials = dev.exports.credentials as pulumi.Output<Record<string, unknown>>;
    expect(await credentials.isSecret).toBe(true);
    const value = await outputValue(credentials);
    expect(Object.keys(value).sort()).toEqual([...DEV_SERVICES].sort());
    expect(value["teacher-service"]).toEqual({ user: "teacher-service", password: expect.any(String), account: "APP", url: "nats://127.0.0.1:4222", inboxPrefix: "_INBOX_teacher-service" });
    expect(dev.passwords).toContain((value["teacher-service"] as { password: string }).password);
    const admins = dev.exports.jetstreamAdmins as pulumi.Output<Record<string, { user: string; password: string; inboxPrefix: string }>>;
    expect(await admins.isSecret).toBe(true);
    const admin = (await outputValue(admins)).APP;
    expect(admin).toEqual({ user: "_jsadmin_APP", password: expect.any(String), inboxPrefix: "_INBOX__jsadmin_APP" });
    expect(dev.passwords).toContain(admin.password);
    const observer = dev.exports.observer as pulumi.Output<Record<string, unknown>>;
    expect(await observer.isSecret).toBe(true);
    expect(await outputValue(observer)).toEqual({
      user: "_observer",
      password: expect.any(String),
      account: "SYS",
      url: "nats://127.0.0.1:4222",
      inboxPrefix: "_INBOX_observer",
      jsApiPrefixes: { APP: "jsapi.APP" },
    });
    expect(dev.passwords).toContain((await outputValue(observer)).password);
    const endpoints = JSON.stringify(dev.exports.endpoints) + JSON.stringify(dev.exports.permissions);
    for (const password of dev.passwords) expect(endpoints).not.toContain(password);
  });
});

/** What changed between two runs, the way the engine would diff resource inputs by name. */
function diff(before: ProgramRun, after: ProgramRun) {
  const names = (run: ProgramRun) => new Set(run.resources.map((r) => r.name));
  const created = [...names(after)].filter((n) => !names(before).has(n));
  const deleted = [...names(before)].filter((n) => !names(after).has(n));
  const changed = [...names(after)].filter((n) => names(before).has(n) && !isDeepStrictEqual(plain(before.byName(n)), plain(after.byName(n))));
  return { created, deleted, changed };
}

/** Inputs of the config command that differ: `stdin` is auth.conf, the rest its environment. */
function changedEnv(before: ProgramRun, after: ProgramRun): string[] {
  const a = plain(before.byName("nats-config"));
  const b = plain(after.byName("nats-config"));
  const keys = [...new Set([...Object.keys(a.environment), ...Object.keys(b.environment)])];
  const changed = keys.filter((k) => a.environment[k] !== b.environment[k]);
  return [...(a.stdin !== b.stdin ? ["stdin"] : []), ...changed.sort()];
}

describe("blast radius of auth changes", () => {
  test("adding a service creates its password and rewrites the config; no container changes", async () => {
    const services = [...(DEV.services as object[]), { name: "billing-service", publish: ["billing.>"], subscribe: ["billing.>"] }];
    const after = await runProgram({ ...DEV, services });
    expect(diff(dev, after)).toEqual({ created: ["nats-password-billing-service"], deleted: [], changed: ["nats-config"] });
    expect(changedEnv(dev, after)).toEqual(["stdin", permissionsEnvKey("billing-service")]);
  });

  test("editing one permission changes only the config command, and preview shows which", async () => {
    const services = structuredClone(DEV.services) as { name: string; publish: string[] }[];
    services[1].publish.push("audit.user");
    const after = await runProgram({ ...DEV, services });
    expect(diff(dev, after)).toEqual({ created: [], deleted: [], changed: ["nats-config"] });
    expect(changedEnv(dev, after)).toEqual(["stdin", permissionsEnvKey("user-service")]);
    const summary = JSON.parse((plain(after.byName("nats-config")).environment as Record<string, string>)[permissionsEnvKey("user-service")]);
    expect(summary.publish).toContain("audit.user");
  });

  test("removing a service deletes its password only", async () => {
    const services = (DEV.services as { name: string }[]).filter((s) => s.name !== "user-service");
    const after = await runProgram({ ...DEV, services });
    expect(diff(dev, after)).toEqual({ created: [], deleted: ["nats-password-user-service"], changed: ["nats-config"] });
  });

  test("a setting the server cannot reload changes the container's restart label (a replacement)", async () => {
    const after = await runProgram({ ...DEV, jetstream: { ...(DEV.jetstream as object), syncInterval: "always" } });
    expect(diff(dev, after).changed.sort()).toEqual(["nats-config", "nats-nats"]);
    const label = (run: ProgramRun) => (plain(run.byName("nats-nats")).labels as { label: string; value: string }[]).find((l) => l.label === RESTART_KEY_LABEL)!.value;
    expect(label(after)).not.toBe(label(dev));
  });
  test("a change that replaces the container (image, port) also changes its restart label, so apply-config does not reload the old one", async () => {
    const label = (run: ProgramRun) => (plain(run.byName("nats-nats")).labels as { label: string; value: string }[]).find((l) => l.label === RESTART_KEY_LABEL)!.value;
    const newPort = await runProgram({ ...DEV, server: { ...(DEV.server as object), monitorPort: 8333 } });
    const newImage = await runProgram(withDocker({ nats: { image: "nats:2.14.9-alpine" } }));
    expect(new Set([label(dev), label(newPort), label(newImage)]).size).toBe(3);
    expect(plain(newPort.byName("nats-config")).environment.RESTART_KEY).toBe(label(newPort));
  });
});

test("a bad config fails the program with the config layer's message, not a stack trace", async () => {
  const bad = { ...DEV, services: [{ name: "Bad Name", publish: ["a..b"] }] };
  const error = await runProgram(bad).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(pulumi.RunError.isInstance(error)).toBe(true);
  expect((error as Error).message).toContain("nats-infra:services[0].name");
  expect((error as Error).message).toContain("nats-infra:services[0].publish[0]");
  expect((error as Error).message).toContain('"a..b"');
});
