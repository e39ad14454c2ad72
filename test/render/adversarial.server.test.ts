// Hostile strings in every field a person controls. For each field and each string, one of two
// things must happen, and the table says which:
//  - parseStackConfig refuses it with a StackConfigError that names the field, or
//  - the rendered config passes `nats-server -t`, and a running server grants exactly what was
//    declared: a subject holding `"}` cannot open a new user or widen anyone's permissions, a
//    path holding `$HOME` is read as written, a description comes back unchanged.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, StackConfigError } from "../../config/load";
import { jetstreamAdminUser, natsUsers } from "../../config/users";
import { renderAuthConf } from "../../render/authConf";
import { renderNatsConf } from "../../render/natsConf";
import { startNats, type RunningNats } from "../harness/natsServer";
import { checkStackConfig, OBSERVER_PREFIX, PermissionProbe, probeDeclaredServices, withObservers } from "../harness/permissionProbe";

/** What each string is acceptable as: a NATS subject, a host path, free text, a Docker image. */
interface Hostile {
  label: string;
  value: string;
  subject: boolean;
  path: boolean;
  text: boolean;
  image: boolean;
  /** A plain lowercase word: fits the name patterns (service, stream, server, Docker names). */
  name: boolean;
}

const hostile = (label: string, value: string, ok: Partial<Omit<Hostile, "label" | "value">>): Hostile => ({
  label,
  value,
  subject: false,
  path: false,
  text: false,
  image: false,
  name: false,
  ...ok,
});

const everywhere = { subject: true, path: true, text: true };
const HOSTILE: Hostile[] = [
  hostile("double quote", 'a"b', everywhere),
  hostile("single quote", "a'b", everywhere),
  hostile("braces", "a}b{", everywhere),
  hostile("close and open a user, no spaces", '"}]},{"user":"evil","password":"evil"},{"x":["', everywhere),
  hostile("} authorization {", '" } authorization { users = [ { user: evil, password: evil } ] } "', { path: true, text: true }),
  hostile("newline", "a\nb", { text: true }),
  hostile("newline include", "a\ninclude /etc/passwd", { text: true }),
  hostile("include keyword", "include", { ...everywhere, image: true, name: true }),
  hostile("include with a path", "include./etc/passwd", { ...everywhere, image: true }),
  hostile("$VAR", "$HOME", everywhere),
  hostile("${VAR}", "${NATS_PASSWORD}", everywhere),
  hostile("backslash escapes", 'a\\x41\\"\\n', everywhere),
  hostile("comment markers", "a#b//c;d", everywhere),
  hostile("unicode", "é.ü.🙂", everywhere),
  hostile("right-to-left override", "a\u202eb", everywhere),
  hostile("zero-width space", "a\u200bb", everywhere),
  hostile("NUL", "a\u0000b", { text: true }),
  hostile("bell", "a\u0007b", { text: true }),
  hostile("terminal escape", "\u001b[31mred", { text: true }),
  hostile("DEL", "a\u007fb", { text: true }),
  hostile("lone surrogate", "a\ud800b", {}),
  hostile("10k characters", "a".repeat(10_000), {}),
  hostile("10k characters of tokens", `${"a.".repeat(5_000)}a`, {}),
  hostile("empty", "", { text: true }),
];

type Verify = (value: string, raw: Record<string, unknown>) => Promise<void>;

interface Field {
  /** The problem path parseStackConfig must name when it refuses the value. */
  path: string;
  inject: (value: string) => Record<string, unknown>;
  accepts: (h: Hostile) => boolean;
  /** Runs before `nats-server -t` (for paths: create the files they name). */
  prepare?: (value: string) => void;
  verify?: Verify;
}

const services = (publish: string[], subscribe: string[]) => [
  { name: "svc", publish: ["base.out", ...publish], subscribe: ["base.in", ...subscribe] },
  { name: "other", publish: ["other.out"], subscribe: ["other.in"] },
];

let tls: { dir: string; ca: string; cert: string; key: string };
beforeAll(() => {
  tls = makeTestCertificates();
});
afterAll(() => rmSync(tls.dir, { recursive: true, force: true }));

/** Starts the server for `raw`, checks every service's permissions, then runs `more`. */
async function enforcesExactly(raw: Record<string, unknown>, elsewhere: string[], more?: (nats: RunningNats, probe: PermissionProbe) => Promise<void>) {
  const nats = await startNats(withObservers(raw));
  const probe = await PermissionProbe.open(nats);
  try {
    const declared = nats.config.services.filter((s) => !s.name.startsWith(OBSERVER_PREFIX));
    const { problems } = await probeDeclaredServices(probe, declared, ["evil", "authorization", "users", "include", ...elsewhere]);
    expect(problems).toEqual([]);
    // No string opened a user: "evil" does not exist, whatever password.
    await expect(connect({ servers: nats.url, user: "evil", pass: "evil", reconnect: false })).rejects.toThrow(/Authorization/i);
    const users = natsUsers(nats.config).map((u) => u.user);
    expect(users).not.toContain("evil");
    await more?.(nats, probe);
  } finally {
    await probe.close();
    await nats.stop();
  }
}

const twoAccounts = (exportEntry: Record<string, string>, importEntry: Record<string, string>) => ({
  accounts: [
    { name: "UP", exports: [exportEntry] },
    { name: "DOWN", imports: [{ ...importEntry, account: "UP" }] },
  ],
  services: [
    { name: "producer", account: "UP", publish: ["up.out"], subscribe: ["up.in"] },
    { name: "consumer", account: "DOWN", publish: ["down.out"], subscribe: ["down.in"] },
  ],
});

const withTlsFiles = (value: string) => {
  // The hostile string is a directory on the way to real certificate files.
  const dir = path.join(tls.dir, "hostile", value);
  mkdirSync(dir, { recursive: true });
  for (const file of ["ca.pem", "cert.pem", "key.pem"]) copyFileSync(path.join(tls.dir, file), path.join(dir, file));
  return dir;
};

const tlsField = (key: "cert" | "key" | "ca"): Field => ({
  path: `nats-infra:tls.${key}`,
  inject: (value) => {
    const files = { cert: path.join(tls.dir, "cert.pem"), key: path.join(tls.dir, "key.pem"), ca: path.join(tls.dir, "ca.pem") };
    const hostilePath = value === "" ? "" : `${tls.dir}/hostile/${value}/${key}.pem`;
    return { services: services([], []), tls: { ...files, [key]: hostilePath } };
  },
  accepts: (h) => h.path,
  prepare: withTlsFiles,
  verify: async (_value, raw) => {
    const nats = await startNats(raw);
    try {
      const varz = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { tls_required?: boolean };
      expect(varz.tls_required).toBe(true);
      const nc = await connect({ servers: nats.url, user: "svc", pass: nats.passwords.svc, reconnect: false, tls: { caFile: path.join(tls.dir, "ca.pem") } });
      await nc.flush();
      await nc.close();
    } finally {
      await nats.stop();
    }
  },
});

/** Docker fields never reach nats.conf or auth.conf: an accepted value must leave them unchanged. */
const dockerField = (pathName: string, inject: (value: string) => Record<string, unknown>, accepts: (h: Hostile) => boolean): Field => ({
  path: `nats-infra:docker.${pathName}`,
  inject: (value) => ({ services: services([], []), docker: inject(value) }),
  accepts,
  verify: async (_value, raw) => {
    expect(renderBoth(raw)).toEqual(renderBoth({ services: services([], []) }));
  },
});

const jetstreamText = (where: "stream" | "consumer"): Field => ({
  path: where === "stream" ? "nats-infra:streams[0].description" : "nats-infra:streams[0].consumers[0].description",
  inject: (value) => ({
    services: services([], []),
    streams: [
      {
        name: "HOSTILE",
        subjects: ["hostile.>"],
        ...(where === "stream" ? { description: value } : {}),
        consumers: [{ name: "reader", ...(where === "consumer" ? { description: value } : {}) }],
      },
    ],
  }),
  accepts: (h) => h.text,
  verify: async (value, raw) => {
    const nats = await startNats(raw);
    const admin = await connect({ servers: nats.url, ...nats.login(jetstreamAdminUser("APP")), reconnect: false });
    try {
      // The text travels as JSON to the JetStream API and must come back as written.
      const jsm = await jetstreamManager(admin);
      const stream = await jsm.streams.add({ name: "HOSTILE", subjects: ["hostile.>"], ...(where === "stream" ? { description: value } : {}) });
      const consumer = await jsm.consumers.add("HOSTILE", { durable_name: "reader", ack_policy: "explicit" as never, ...(where === "consumer" ? { description: value } : {}) });
      const info = where === "stream" ? (await jsm.streams.info("HOSTILE")).config.description : (await jsm.consumers.info("HOSTILE", "reader")).config.description;
      expect(where === "stream" ? stream.config.description : consumer.config.description).toBe(value === "" ? undefined : value);
      expect(info ?? "").toBe(value);
    } finally {
      await admin.close();
      await nats.stop();
    }
  },
});

const neverAccepted = () => false;

/**
 * The JetStream admin of the rendered config creates the declared stream and consumer: its
 * permissions name them, so the names reached auth.conf and the server intact.
 */
async function adminCreates(stream: string, consumer: string): Promise<void> {
  const raw = { services: services([], []), streams: [{ name: stream, subjects: ["s.>"], consumers: [{ name: consumer }] }] };
  const nats = await startNats(raw);
  const admin = await connect({ servers: nats.url, ...nats.login(jetstreamAdminUser("APP")), reconnect: false });
  try {
    const jsm = await jetstreamManager(admin);
    expect((await jsm.streams.add({ name: stream, subjects: ["s.>"] })).config.name).toBe(stream);
    expect((await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: "explicit" as never })).name).toBe(consumer);
    await expect(jsm.consumers.add(stream, { durable_name: `${consumer}x`, ack_policy: "explicit" as never })).rejects.toThrow(/Permissions Violation/);
  } finally {
    await admin.close();
    await nats.stop();
  }
}

const FIELDS: Record<string, Field> = {
  "service name": {
    path: "nats-infra:services[0].name",
    inject: (value) => ({ services: [{ name: value, publish: ["a.b"], subscribe: ["a.c"] }] }),
    accepts: (h) => h.name,
    verify: (_value, raw) => enforcesExactly(raw, []),
  },
  "service account": {
    path: "nats-infra:services[0].account",
    inject: (value) => ({ services: [{ name: "svc", account: value, publish: ["a.b"] }] }),
    accepts: neverAccepted,
  },
  "account name": {
    path: "nats-infra:accounts[0].name",
    inject: (value) => ({ accounts: [{ name: value }], services: [{ name: "svc", account: value }] }),
    accepts: neverAccepted,
  },
  "publish subject": {
    path: "nats-infra:services[0].publish[1]",
    inject: (value) => ({ services: services([value], []) }),
    accepts: (h) => h.subject,
    verify: (value, raw) => enforcesExactly(raw, [value]),
  },
  "subscribe subject": {
    path: "nats-infra:services[0].subscribe[1]",
    inject: (value) => ({ services: services([], [value]) }),
    accepts: (h) => h.subject,
    verify: (value, raw) => enforcesExactly(raw, [value]),
  },
  "stream export and import subject": {
    path: "nats-infra:accounts[0].exports[0].stream",
    inject: (value) => twoAccounts({ stream: value }, { stream: value }),
    accepts: (h) => h.subject,
    verify: (value, raw) =>
      enforcesExactly(raw, [value], async (_nats, probe) => {
        expect(await probe.crossesAccounts("UP", "DOWN", value)).toBe(true);
        for (const near of [`${value}x`, `x${value}`, `${value}.deeper`, "up.out", "evil"]) {
          expect(await probe.crossesAccounts("UP", "DOWN", near), near).toBe(false);
        }
        expect(await probe.crossesAccounts("DOWN", "UP", value)).toBe(false);
      }),
  },
  "service import local name (to)": {
    path: "nats-infra:accounts[1].imports[0].to",
    inject: (value) => twoAccounts({ service: "up.svc" }, { service: "up.svc", to: value }),
    accepts: (h) => h.subject,
    verify: (value, raw) =>
      enforcesExactly(raw, [value, "up.svc"], async (_nats, probe) => {
        const responder = probe.observer("UP");
        responder.subscribe("up.svc", { max: 1, callback: (err, msg) => void (!err && msg.respond("from UP")) });
        await responder.flush();
        const reply = await probe.observer("DOWN").request(value, "q", { timeout: 2_000 });
        expect(reply.string()).toBe("from UP");
        // Only the declared local name leads there.
        expect(await probe.crossesAccounts("DOWN", "UP", value)).toBe(true);
        for (const near of [`${value}x`, `x${value}`, `${value}.deeper`, "up.svc.x", "evil"]) {
          expect(await probe.crossesAccounts("DOWN", "UP", near), near).toBe(false);
        }
      }),
  },
  "stream subject": {
    path: "nats-infra:streams[0].subjects[0]",
    inject: (value) => ({ services: services([value], []), streams: [{ name: "HOSTILE", subjects: [value] }] }),
    accepts: (h) => h.subject,
    verify: async (value, raw) => {
      const nats = await startNats(raw);
      const admin = await connect({ servers: nats.url, ...nats.login(jetstreamAdminUser("APP")), reconnect: false });
      const svc = await connect({ servers: nats.url, user: "svc", pass: nats.passwords.svc, reconnect: false });
      try {
        const jsm = await jetstreamManager(admin);
        await jsm.streams.add({ name: "HOSTILE", subjects: [value] });
        // Published as svc, with a JetStream acknowledgement, so the count below is settled.
        const ack = await jetstream(svc).publish(value, "stored");
        expect(ack.stream).toBe("HOSTILE");
        expect((await jsm.streams.info("HOSTILE")).state.messages).toBe(1);
      } finally {
        await Promise.all([admin.close(), svc.close()]);
        await nats.stop();
      }
    },
  },
  "stream name": {
    path: "nats-infra:streams[0].name",
    inject: (value) => ({ services: services([], []), streams: [{ name: value, subjects: ["s.>"], consumers: [{ name: "reader" }] }] }),
    accepts: (h) => h.name,
    verify: (value) => adminCreates(value, "reader"),
  },
  "consumer name": {
    path: "nats-infra:streams[0].consumers[0].name",
    inject: (value) => ({ services: services([], []), streams: [{ name: "S", subjects: ["s.>"], consumers: [{ name: value }] }] }),
    accepts: (h) => h.name,
    verify: (value) => adminCreates("S", value),
  },
  "stream description": jetstreamText("stream"),
  "consumer description": jetstreamText("consumer"),
  "server name": {
    path: "nats-infra:server.name",
    inject: (value) => ({ services: services([], []), server: { name: value } }),
    accepts: (h) => h.name,
    verify: async (value, raw) => {
      const nats = await startNats(raw);
      try {
        const varz = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { server_name: string };
        expect(varz.server_name).toBe(value);
      } finally {
        await nats.stop();
      }
    },
  },
  "tls cert path": tlsField("cert"),
  "tls key path": tlsField("key"),
  "tls ca path": tlsField("ca"),
  "docker namePrefix": dockerField("namePrefix", (value) => ({ namePrefix: value }), (h) => h.name),
  "docker dataVolume": dockerField("dataVolume", (value) => ({ dataVolume: value }), (h) => h.name),
  "docker configDir": dockerField("configDir", (value) => ({ configDir: value === "" ? "" : `/srv/${value}` }), (h) => h.path),
  "docker nats image": dockerField("nats.image", (value) => ({ nats: { image: value } }), (h) => h.image),
  "docker nats logMaxSize": dockerField("nats.logMaxSize", (value) => ({ nats: { logMaxSize: value } }), neverAccepted),
  "docker surveyor image": dockerField("surveyor.image", (value) => ({ surveyor: { image: value } }), (h) => h.image),
  "docker natsBox image": dockerField("natsBox.image", (value) => ({ natsBox: { image: value } }), (h) => h.image),
};

const CASES = Object.entries(FIELDS).flatMap(([field, spec]) => HOSTILE.map((h) => ({ field, spec, h, outcome: spec.accepts(h) ? "accepted" : "refused" })));

test("the table holds every field with every hostile string, and both outcomes occur", () => {
  expect(CASES.length).toBe(Object.keys(FIELDS).length * HOSTILE.length);
  expect(CASES.filter((c) => c.outcome === "accepted").length).toBeGreaterThan(80);
  expect(CASES.filter((c) => c.outcome === "refused").length).toBeGreaterThan(200);
});

describe.each(CASES)("$field with $h.label: $outcome", ({ spec, h, outcome }) => {
  test(outcome === "refused" ? "parseStackConfig refuses it and names the field" : "nats-server -t accepts it and the server grants exactly the declared", async () => {
    const raw = spec.inject(h.value);
    if (outcome === "refused") {
      const error = refusal(raw);
      expect(error.problems.map((p) => p.path)).toContain(spec.path);
      // The message is for a person: no stack trace, no raw control characters, bounded length.
      expect(error.message).not.toMatch(/\n\s+at /);
      expect(error.message).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      expect(error.message.length).toBeLessThan(3_000);
      return;
    }
    parseStackConfig(raw);
    spec.prepare?.(h.value);
    const check = checkStackConfig(raw);
    expect(check.output).toContain("is valid");
    expect(check.ok).toBe(true);
    await spec.verify!(h.value, raw);
  });
});

// Keys are user input too: an unknown key is refused, and shown quoted so it cannot forge lines.
describe.each(HOSTILE.filter((h) => h.value !== ""))("an unknown key that is $label", (h) => {
  test("is refused at the top level and inside a service, without raw control characters", () => {
    const error = refusal({ services: [{ name: "svc", [h.value]: true }], [h.value]: 1 });
    expect(error.problems).toHaveLength(2);
    for (const problem of error.problems) expect(problem.message).toMatch(/not a setting nats-infra knows/);
    expect(error.message).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    // One line per problem, whatever the key holds.
    expect(error.message.split("\n")).toHaveLength(3);
  });
});

function refusal(raw: Record<string, unknown>): StackConfigError {
  try {
    parseStackConfig(raw);
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error("parseStackConfig accepted it");
}

/** nats.conf and auth.conf for `raw`, rendered with fixed hashes into a fixed directory name. */
const FIXED_HASH = bcrypt.hashSync("fixed", 4);
function renderBoth(raw: Record<string, unknown>): string[] {
  const { config } = parseStackConfig(raw);
  const hashes = Object.fromEntries(natsUsers(config).map((u) => [u.user, FIXED_HASH]));
  return [renderNatsConf(config, { kind: "local", dir: "/fixed" }), renderAuthConf(config, hashes)];
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
function makeTestCertificates(): { dir: string; ca: string; cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-tls-"));
  const run = (args: string[]) => {
    try {
      execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    } catch (error) {
      throw new Error(`openssl failed (install it with \`apt-get install openssl\`): ${(error as Error).message}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=nats-infra test CA"]);
  run(["req", ...ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "san.ext"]);
  readFileSync(path.join(dir, "cert.pem"));
  return { dir, ca: path.join(dir, "ca.pem"), cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
}
