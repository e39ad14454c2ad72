// The real nats-server on what the renderers write: the reviewed golden files parse
// (`nats-server -t`), TLS file paths load, and strings and keys read back exactly as meant.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import { renderAuthConf } from "../../render/authConf";
import { AUTH_CONF_FILE, NATS_CONF_FILE, renderNatsConf } from "../../render/natsConf";
import { natsTopLevel } from "../../render/natsValue";
import { fixedHashes, GOLDEN_DIR, goldenStackNames, goldenTargets } from "../harness/goldenStacks";
import { checkConfigFile, waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { toolPath } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-render-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** nats.conf includes auth.conf by relative name, so the pair is checked side by side. */
function checkPair(name: string, natsConf: string, authConf: string): void {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, NATS_CONF_FILE), natsConf);
  writeFileSync(path.join(dir, AUTH_CONF_FILE), authConf);
  const result = checkConfigFile(path.join(dir, NATS_CONF_FILE));
  expect(result.output).toContain("is valid");
  expect(result.ok, result.output).toBe(true);
}

describe("golden files", () => {
  test("the golden files on disk pass nats-server -t (render.test.ts proves the renderers write exactly these)", () => {
    for (const stack of goldenStackNames) {
      for (const [targetName] of goldenTargets) {
        const dir = path.join(scratch, `golden-${stack}-${targetName}`);
        mkdirSync(dir, { recursive: true });
        copyFileSync(path.join(GOLDEN_DIR, `${stack}.${targetName}.nats.conf`), path.join(dir, NATS_CONF_FILE));
        copyFileSync(path.join(GOLDEN_DIR, `${stack}.auth.conf`), path.join(dir, AUTH_CONF_FILE));
        const result = checkConfigFile(path.join(dir, NATS_CONF_FILE));
        expect(result.ok, `${stack}/${targetName}: ${result.output}`).toBe(true);
      }
    }
  });

  test("a broken golden file would be caught: nats-server -t refuses a file with a syntax error", () => {
    const dir = path.join(scratch, "broken");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, NATS_CONF_FILE), 'listen: "127.0.0.1:4222"\nmax_payload: {\n');
    expect(checkConfigFile(path.join(dir, NATS_CONF_FILE)).ok).toBe(false);
  });
});

describe("TLS with real files", () => {
  test("nats-server -t loads the certificate, key and CA that the local target points at", () => {
    const dir = path.join(scratch, "tls");
    mkdirSync(dir, { recursive: true });
    const made = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "cert.pem"],
      { cwd: dir, encoding: "utf8" },
    );
    if (made.error) throw new Error(`openssl is needed to make a test certificate: apt-get install openssl (${made.error.message})`);
    expect(made.status, made.stderr).toBe(0);
    const tls = { cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem"), ca: path.join(dir, "cert.pem"), verify: true, minVersion: "1.3" };
    const config = parseStackConfig({ services: [{ name: "svc" }], tls }).config;
    const natsConf = renderNatsConf(config, { kind: "local", dir });
    checkPair("tls", natsConf, renderAuthConf(config, fixedHashes(config)));
    // And the check can fail: a key that is not there is refused by the server.
    const broken = natsConf.replace(path.join(dir, "key.pem"), path.join(dir, "missing.pem"));
    writeFileSync(path.join(scratch, "tls", NATS_CONF_FILE), broken);
    const result = checkConfigFile(path.join(scratch, "tls", NATS_CONF_FILE));
    expect(result.ok).toBe(false);
    expect(result.output).toContain("missing.pem");
  });
});

describe("NATS value syntax, read back by the server", () => {
  test("nats-server reads back exactly the strings and keys we wrote", async () => {
    const serverName = 'q"b\\s\nl\rc\tt\u0001\u001f\u007fé✓😀$v#c}{][,;:=//x';
    const accountNames = ["back\\slash", "$notavar", "#nocomment", "}{][,;:= x", "uni é✓😀", "include x"];
    const clientPort = await freePort();
    const monitorPort = await freePort();
    const dir = path.join(scratch, "roundtrip");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, NATS_CONF_FILE);
    const conf = natsTopLevel({
      server_name: serverName,
      listen: `127.0.0.1:${clientPort}`,
      http: `127.0.0.1:${monitorPort}`,
      accounts: Object.fromEntries(accountNames.map((name) => [name, {}])),
    });
    writeFileSync(file, conf + "\n");
    const child = spawn(toolPath("nats-server"), ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    try {
      const monitor = `http://127.0.0.1:${monitorPort}`;
      await waitFor(async () => (await fetch(`${monitor}/healthz`)).ok, 10_000, () => `nats-server did not start:\n${log}`);
      const varz = (await (await fetch(`${monitor}/varz`)).json()) as { server_name: string };
      expect(varz.server_name).toBe(serverName);
      const accountz = (await (await fetch(`${monitor}/accountz`)).json()) as { accounts: string[] };
      for (const name of accountNames) expect(accountz.accounts).toContain(name);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    }
  });
});
