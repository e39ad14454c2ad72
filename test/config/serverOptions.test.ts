// The server options table (config/serverOptions.ts) against everything derived from it: the
// schema it describes, the restart key deployed stacks carry, nats.conf, the refusal of
// overrides in server.extra, and the committed reference docs/server-options.md.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { natsContainerArgs } from "../../components/natsContainerSpec";
import { restartKey, restartSettings } from "../../components/restartKey";
import { parseStackConfig, readStackFile } from "../../config/load";
import { problemsOf } from "../harness/configProblems";
import { jetstreamSchema, serverSchema, type StackConfig } from "../../config/schema";
import { extraKeyProblem, REFERENCE_FILE, renderOptionsReference, SERVER_OPTIONS, settledKeys, type ConfiguredOption } from "../../config/serverOptions";
import { parseDuration, parseSize } from "../../config/units";
import { MAX_PENDING_BYTES, MIN_LAME_DUCK_MS } from "../../config/validate";
import { natsUsers } from "../../config/users";
import { renderAuthConf } from "../../render/authConf";
import { renderNatsConf } from "../../render/natsConf";

const REPO = path.resolve(__dirname, "..", "..");
const minimal = { services: [{ name: "svc" }] };
const sections = { server: serverSchema, jetstream: jetstreamSchema };
const configured = SERVER_OPTIONS.filter((o): o is ConfiguredOption => o.path !== null);

function load(file: string): StackConfig {
  return parseStackConfig(readStackFile(path.join(REPO, file))).config;
}

function withExtra(extra: unknown) {
  return { ...minimal, server: { extra } };
}



describe("the table describes exactly the schema", () => {
  for (const [section, schema] of Object.entries(sections)) {
    test(`every ${section} schema key has a row, and every ${section} row names a schema key`, () => {
      const rows = configured.filter((o) => o.path.startsWith(`${section}.`)).map((o) => o.path.slice(section.length + 1));
      expect(new Set(rows).size, "a key with two rows").toBe(rows.length);
      expect(rows.sort()).toEqual(Object.keys(schema.shape).sort());
    });
  }

  test("each row's default is the schema's default (as parsed), and optional rows have none", () => {
    for (const option of configured) {
      const [section, key] = option.path.split(".") as [keyof typeof sections, string];
      const schema = sections[section];
      const schemaDefault = (schema.parse({}) as Record<string, unknown>)[key];
      if (option.default === undefined) {
        expect(schemaDefault, option.path).toBeUndefined();
      } else {
        expect((schema.parse({ [key]: option.default }) as Record<string, unknown>)[key], option.path).toEqual(schemaDefault);
      }
    }
  });

  test("nats.conf keys are unique within their block", () => {
    for (const block of ["top", "jetstream"]) {
      const keys = SERVER_OPTIONS.flatMap((o) => (o.nats.as !== "merged" && o.nats.block === block ? [o.nats.key] : []));
      expect(new Set(keys).size, block).toBe(keys.length);
    }
  });

  test("the limits the docs state are the ones the config checks enforce", () => {
    const doc = (p: string) => configured.find((o) => o.path === p)!.doc;
    expect(doc("server.maxPayload")).toContain("at most `64MB`");
    expect(parseSize("64MB")).toBe(MAX_PENDING_BYTES);
    expect(doc("server.lameDuckDuration")).toContain("at least `30s`");
    expect(parseDuration("30s")).toBe(MIN_LAME_DUCK_MS);
  });
});

describe("restart key", () => {
  // The restart key is the value of a label on every deployed nats container. If the key a
  // config produces ever changes, the next `pulumi up` replaces every deployed nats container
  // (downtime for every client) although nothing the person wrote changed. These values were
  // recorded before the table existed; they must never change for these configs. A deliberate
  // change to the container spec (an image bump) changes the keys with a container; the
  // settings-only keys and the settings JSON must stay as they are regardless.
  const container = (config: StackConfig) =>
    natsContainerArgs({
      config,
      image: "nats:2.14.10-alpine",
      configDir: "/srv/nats-infra/config",
      volumeName: `${config.docker.namePrefix}-jetstream`,
      networkName: `${config.docker.namePrefix}-net`,
      restartKey: "",
    });
  const pinned = {
    "test/fixtures/Pulumi.dev.yaml": {
      settings: '{"serverName":"nats-0","lameDuckDuration":"30s","lameDuckGracePeriod":"10s","jetstreamEnabled":true,"syncInterval":"1s","maxMemoryStore":1073741824,"maxFileStore":53687091200}',
      settingsOnly: "895ec8f98961c3ac",
      withContainer: "690afb7671a1f0c2",
    },
    "test/fixtures/Pulumi.accounts.yaml": {
      settings: '{"serverName":"nats-a","lameDuckDuration":"2m","lameDuckGracePeriod":"20s","jetstreamEnabled":true,"syncInterval":"always","maxMemoryStore":2147483648,"maxFileStore":107374182400}',
      settingsOnly: "8ef7ab93b5c2e9e7",
      withContainer: "362290144731cd10",
    },
  };
  for (const [file, expected] of Object.entries(pinned)) {
    test(`${file}: the same settings JSON and the same keys as before the table`, () => {
      const config = load(file);
      expect(JSON.stringify(restartSettings(config))).toBe(expected.settings);
      expect(restartKey(config)).toBe(expected.settingsOnly);
      expect(restartKey(config, container(config))).toBe(expected.withContainer);
    });
  }

  test("restart-key positions are 0..n-1 and names unique, so no two settings share a slot", () => {
    const entries = configured.flatMap((o) => (o.apply.by === "restart" && o.apply.restartKey !== "container spec" ? [o.apply.restartKey] : []));
    expect(entries.map((e) => e.position).sort((a, b) => a - b)).toEqual(entries.map((_, i) => i));
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
  });

  test("server.extra is in the key only when set: absent or empty keeps the key, a setting changes it", () => {
    const plain = parseStackConfig(minimal).config;
    const empty = parseStackConfig(withExtra({})).config;
    const set = parseStackConfig(withExtra({ max_control_line: 4096 })).config;
    expect(restartKey(empty)).toBe(restartKey(plain));
    expect(restartSettings(set)).toEqual({ ...restartSettings(plain), extra: { max_control_line: 4096 } });
    expect(restartKey(set)).not.toBe(restartKey(plain));
  });

  test("reload-class options leave the key alone; restart-class ones change it", () => {
    const base = parseStackConfig(minimal).config;
    const changed = { "server.maxPayload": "2MB", "server.pingInterval": "1m", "server.name": "nats-9", "jetstream.syncInterval": "always" };
    for (const [where, value] of Object.entries(changed)) {
      const option = configured.find((o) => o.path === where)!;
      const [section, key] = where.split(".");
      const config = parseStackConfig({ ...minimal, [section]: { [key]: value } }).config;
      expect(restartKey(config) !== restartKey(base), where).toBe(option.apply.by === "restart");
    }
  });
});

describe("server.extra in nats.conf", () => {
  test("extra settings are written as data after nats-infra's own, changing nothing else", () => {
    const extra = { max_control_line: 4096, server_tags: ["region:eu"], server_metadata: { "team \\ name": 'say "hi"\n' } };
    const without = renderNatsConf(parseStackConfig(minimal).config, { kind: "container" });
    const rendered = renderNatsConf(parseStackConfig(withExtra(extra)).config, { kind: "container" });
    const written = ["max_control_line: 4096", 'server_tags: [\n  "region:eu"\n]', 'server_metadata: {\n  "team \\ name": "say \\"hi\\"\\n"\n}'];
    expect(rendered).toBe(without.replace('include "auth.conf"', `${written.join("\n")}\ninclude "auth.conf"`));
  });

  test("every top-level key nats.conf and auth.conf are written with is refused in server.extra", () => {
    const config = parseStackConfig({ ...minimal, tls: { cert: "/c.pem", key: "/k.pem" } }).config;
    const natsConf = renderNatsConf(config, { kind: "local", dir: "/tmp/x" });
    const natsKeys = [...natsConf.matchAll(/^([a-z_]+)(?::| ")/gm)].map((m) => m[1]);
    const hash = `$2a$04$${"a".repeat(53)}`;
    const authConf = renderAuthConf(config, Object.fromEntries(natsUsers(config).map((u) => [u.user, hash])));
    const authKeys = Object.keys(JSON.parse(authConf.replace(/^#.*\n/, "")));
    expect(natsKeys).toContain("include");
    expect(authKeys).toEqual(["accounts", "system_account"]);
    for (const key of [...natsKeys, ...authKeys]) expect(settledKeys(), key).toContain(key);
  });
});

describe("server.extra refusals", () => {
  const refusals: [string, string][] = [
    ["max_payload", "set server.maxPayload instead"],
    ["MAX_Payload", "set server.maxPayload instead"],
    ["max_conn", 'max_connections (nats-server reads "max_conn" as the same setting), which nats-infra writes from server.maxConnections'],
    ["listen", "set server.clientPort instead"],
    ["port", "set server.clientPort instead"],
    ["http_port", "set server.monitorPort instead"],
    ["jetstream", "configure the jetstream section instead"],
    ["store_dir", "store_dir, which nats-infra writes itself"],
    ["pid_file", "pid_file, which nats-infra writes itself"],
    ["tls", "configure TLS there"],
    ["include", "put that file's settings here instead"],
    ["accounts", "declare services and accounts instead"],
    ["authorization", "declare services and accounts instead"],
  ];
  for (const [key, fix] of refusals) {
    test(`${key}: refused at server.extra.${key} with the value and what to do instead`, () => {
      const problems = problemsOf(withExtra({ [key]: 4096 }));
      expect(problems).toHaveLength(1);
      expect(problems[0].path).toBe(`nats-infra:server.extra.${key}`);
      expect(problems[0].value).toBe("4096");
      expect(problems[0].message).toContain(fix);
      expect(problems[0].message).toMatch(/; (.+ instead and )?remove this entry from server\.extra$/);
    });
  }

  test("every settled key is refused; settings nats-infra does not model yet pass", () => {
    for (const key of settledKeys()) expect(extraKeyProblem(key), key).toBeDefined();
    for (const key of ["cluster", "gateway", "leafnodes", "max_control_line", "server_tags"]) expect(extraKeyProblem(key), key).toBeUndefined();
  });

  test("keys and values nats.conf cannot hold are refused where they are, every one at once", () => {
    const problems = problemsOf(withExtra({ "max-control-line": 1, nothing: null, tags: ["a", null], meta: { 'a"b': "x" }, fine: 1 }));
    const at = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(Object.keys(at).sort()).toEqual(
      ["nats-infra:server.extra.max-control-line", 'nats-infra:server.extra.meta["a\\"b"]', "nats-infra:server.extra.nothing", "nats-infra:server.extra.tags[1]"].sort(),
    );
    expect(at["nats-infra:server.extra.max-control-line"]).toContain("not a nats.conf setting name");
    expect(at['nats-infra:server.extra.meta["a\\"b"]']).toContain("a map key cannot be empty or hold");
    expect(at["nats-infra:server.extra.nothing"]).toContain("nats.conf has no null");
    expect(at["nats-infra:server.extra.tags[1]"]).toContain("nats.conf has no null");
  });

  test("server.extra must be a map", () => {
    expect(problemsOf({ ...minimal, server: { extra: ["max_control_line"] } })[0]).toMatchObject({ path: "nats-infra:server.extra", message: expect.stringContaining("a map of nats.conf settings") });
  });
});

test(`${REFERENCE_FILE} is the reference generated from the table (run \`npm run docs\` after changing it)`, () => {
  expect(readFileSync(path.join(REPO, REFERENCE_FILE), "utf8")).toBe(renderOptionsReference());
});
