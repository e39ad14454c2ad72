// The renderers on their own, no server: rendered files compared byte for byte with reviewed
// golden files (UPDATE_GOLDEN=1 rewrites them after an intended change; review the diff),
// render targets, determinism, no plaintext password in auth.conf, and string escaping.
// render.server.test.ts proves with the real nats-server that those files parse and that what
// we write reads back as meant.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import bcrypt from "bcryptjs";
import { parseStackConfig, readStackFile } from "../../config/load";
import { natsUsers } from "../../config/users";
import { renderAuthConf } from "../../render/authConf";
import { renderNatsConf } from "../../render/natsConf";
import { natsKey, natsString, natsTopLevel, natsValue } from "../../render/natsValue";
import { FIXED_SALT, fixedHashes, GOLDEN_DIR, goldenStackNames as stackNames, goldenStacks as stacks, goldenTargets as targets, loadGoldenStack as load } from "../harness/goldenStacks";

const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === "1";

function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE_GOLDEN) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`no golden file ${name}; run \`UPDATE_GOLDEN=1 npx vitest run test/render/render.test.ts\` and review it`);
  // Byte for byte: whitespace, order and escaping are part of what the server reads.
  const hint = `${name} differs from the golden file; if intended, regenerate with UPDATE_GOLDEN=1 and review the diff`;
  expect(actual, hint).toBe(readFileSync(file, "utf8"));
  expect(Buffer.from(actual).equals(readFileSync(file)), hint).toBe(true);
}

describe("golden files", () => {
  for (const stack of stackNames) {
    for (const [targetName, target] of targets) {
      test(`${stack} stack, ${targetName} target: nats.conf and auth.conf match the golden files`, () => {
        const config = load(stack);
        expectGolden(`${stack}.${targetName}.nats.conf`, renderNatsConf(config, target));
        // auth.conf does not depend on the target.
        if (targetName === "container") expectGolden(`${stack}.auth.conf`, renderAuthConf(config, fixedHashes(config)));
      });
    }
  }
});

describe("targets", () => {
  test("the container target listens on all interfaces at the fixed in-container ports and paths", () => {
    const config = parseStackConfig({ services: [{ name: "svc" }], server: { clientPort: 14222, monitorPort: 18222 } }).config;
    const conf = renderNatsConf(config, { kind: "container" });
    // Docker publishes the stack's ports onto these fixed ones.
    expect(conf).toContain('listen: "0.0.0.0:4222"\n');
    expect(conf).toContain('http: "0.0.0.0:8222"\n');
    expect(conf).toContain('"store_dir": "/data"');
    expect(conf).not.toContain("14222");
    expect(conf).not.toContain("pid_file");
    expect(conf.endsWith('include "auth.conf"\n')).toBe(true);
  });

  test("the local target listens on loopback at the stack's ports, with its files under the directory", () => {
    const config = parseStackConfig({ services: [{ name: "svc" }], server: { clientPort: 14222, monitorPort: 18222 } }).config;
    const conf = renderNatsConf(config, { kind: "local", dir: "/srv/my nats" });
    expect(conf).toContain('listen: "127.0.0.1:14222"\n');
    expect(conf).toContain('http: "127.0.0.1:18222"\n');
    expect(conf).toContain('pid_file: "/srv/my nats/nats-server.pid"\n');
    expect(conf).toContain('"store_dir": "/srv/my nats"');
  });

  test("JetStream off leaves the jetstream block out of both files", () => {
    const config = parseStackConfig({ services: [{ name: "svc" }], jetstream: { enabled: false } }).config;
    expect(renderNatsConf(config, { kind: "container" })).not.toContain("jetstream");
    expect(renderAuthConf(config, fixedHashes(config))).not.toContain('"jetstream"');
  });

  test("TLS points at the mounted files in the container, and at the given files locally", () => {
    const config = parseStackConfig({ services: [{ name: "svc" }], tls: { cert: "/host/cert.pem", key: "/host/key.pem" } }).config;
    const container = renderNatsConf(config, { kind: "container" });
    expect(container).toContain('"cert_file": "/etc/nats-tls/cert.pem"');
    expect(container).toContain('"key_file": "/etc/nats-tls/key.pem"');
    expect(container).not.toContain("ca_file");
    expect(container).not.toContain("/host/");
    const local = renderNatsConf({ ...config, tls: { ...config.tls!, ca: "/host/ca.pem", verify: true } }, { kind: "local", dir: "/d" });
    expect(local).toContain('"cert_file": "/host/cert.pem"');
    expect(local).toContain('"ca_file": "/host/ca.pem"');
    expect(local).toContain('"verify": true');
    expect(local).toContain('"min_version": "1.2"');
  });
});

describe("determinism", () => {
  test("the same input renders the same bytes, twice", () => {
    for (const stack of stackNames) {
      const hashes = fixedHashes(load(stack));
      for (const [, target] of targets) {
        expect(renderNatsConf(load(stack), target)).toBe(renderNatsConf(load(stack), target));
      }
      expect(renderAuthConf(load(stack), hashes)).toBe(renderAuthConf(load(stack), { ...hashes }));
    }
  });

  test("the order keys are written in the stack file does not change the output", () => {
    const raw = readStackFile(stacks.accounts);
    const reversed = reverseKeys(raw) as Record<string, unknown>;
    expect(Object.keys(reversed)).toEqual(Object.keys(raw).reverse());
    const a = parseStackConfig(raw).config;
    const b = parseStackConfig(reversed).config;
    expect(renderNatsConf(b, { kind: "container" })).toBe(renderNatsConf(a, { kind: "container" }));
    expect(renderAuthConf(b, fixedHashes(b))).toBe(renderAuthConf(a, fixedHashes(a)));
  });
});

/** Every object's keys in reverse order (array order is meaning, so it stays). */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  }
  return value;
}

describe("no plaintext password in auth.conf", () => {
  const config = load("dev");
  const users = natsUsers(config).map((u) => u.user);

  test("every user gets exactly the bcrypt hash it was given, and no password appears", () => {
    const hashes = fixedHashes(config);
    const auth = renderAuthConf(config, hashes);
    for (const user of users) {
      expect(auth).toContain(`"password": ${natsString(hashes[user])}`);
      expect(auth).not.toContain(`pw-${user}`);
      expect(bcrypt.compareSync(`pw-${user}`, hashes[user])).toBe(true);
    }
    expect(auth.match(/"password": /g)).toHaveLength(users.length);
  });

  test.each([
    ["a plaintext password", "correct-horse-battery-staple-42"],
    ["a truncated hash", "$2a$10$tooshort"],
    ["an unknown hash scheme", "$1$abcdefgh$" + "x".repeat(22)],
    ["a hash with a newline after it", bcrypt.hashSync("x", FIXED_SALT) + "\n"],
    ["an empty string", ""],
  ])("refuses %s, without repeating it", (_, value) => {
    const hashes = { ...fixedHashes(config), "user-service": value };
    let message = "";
    expect(() => {
      try {
        renderAuthConf(config, hashes);
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    }).toThrow(/bcrypt hash for user user-service/);
    if (value.trim()) expect(message).not.toContain(value.trim());
  });

  test("refuses a user without a hash", () => {
    const hashes = fixedHashes(config);
    delete hashes._surveyor;
    expect(() => renderAuthConf(config, hashes)).toThrow("auth.conf needs a bcrypt hash for user _surveyor; got none");
  });

  test.each(["$2a$", "$2b$", "$2x$", "$2y$"])("accepts the %s bcrypt prefix", (prefix) => {
    const hash = bcrypt.hashSync("x", FIXED_SALT).replace("$2a$", prefix);
    const hashes = Object.fromEntries(users.map((u) => [u, hash]));
    expect(renderAuthConf(config, hashes)).toContain(prefix);
  });
});

describe("NATS value syntax", () => {
  test.each([
    ["plain", '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["line\nbreak", '"line\\nbreak"'],
    ["cr\rtab\t", '"cr\\rtab\\t"'],
    ["nul\u0000", '"nul\\x00"'],
    ["bell\u0007esc\u001b", '"bell\\x07esc\\x1b"'],
    ["unit\u001f", '"unit\\x1f"'],
    ["del\u007f", '"del\\x7f"'],
    ["é✓😀", '"é✓😀"'],
    ["$notavar #nocomment } ]", '"$notavar #nocomment } ]"'],
    ["", '""'],
  ])("natsString(%j) is %s", (input, expected) => {
    expect(natsString(input)).toBe(expected);
  });

  test("only the escapes nats-server knows are ever written", () => {
    let every = "";
    for (let code = 0; code < 0x80; code++) every += String.fromCharCode(code);
    const escapes = natsString(every).slice(1, -1).match(/\\./g) ?? [];
    expect(new Set(escapes)).toEqual(new Set(['\\"', "\\\\", "\\n", "\\r", "\\t", "\\x"]));
    // 32 control characters and DEL, minus \n \r \t, take the \xXX form.
    expect(escapes.filter((e) => e === "\\x")).toHaveLength(30);
  });

  test("values and keys", () => {
    expect(natsValue({ a: 1, b: true, c: false, d: undefined, e: [], f: {}, g: ["x", -1] })).toBe(
      '{\n  "a": 1,\n  "b": true,\n  "c": false,\n  "e": [],\n  "f": {},\n  "g": [\n    "x",\n    -1\n  ]\n}',
    );
    expect(() => natsValue(Number.NaN)).toThrow("cannot render the number NaN");
    expect(() => natsValue({ n: Number.POSITIVE_INFINITY })).toThrow("cannot render the number Infinity");
    // The server reads quoted keys without escapes: a key that would need one is refused.
    expect(natsKey("back\\slash")).toBe('"back\\slash"');
    expect(() => natsKey('a"b')).toThrow("cannot render the key");
    expect(() => natsKey("a\nb")).toThrow("cannot render the key");
    expect(() => natsTopLevel({ "include x": 1 })).toThrow("top-level");
    expect(natsTopLevel({ a: 1, b: undefined, c: "x" })).toBe('a: 1\nc: "x"');
  });

});
