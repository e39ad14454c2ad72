// server.extra against the real nats-server: what nats-infra renders from it is a config the
// server accepts (`nats-server -t`), and a running server takes the values as written.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";
import { afterAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { natsUsers } from "../../config/users";
import { renderAuthConf } from "../../render/authConf";
import { AUTH_CONF_FILE, NATS_CONF_FILE, renderNatsConf, type RenderTarget } from "../../render/natsConf";
import { checkConfigFile, startNats, TEST_BCRYPT_COST } from "../harness/natsServer";
import { DEV_STACK_FIXTURE } from "../harness/tools";

/** Settings nats-infra does not model, one of each value shape: number, list, map. */
const EXTRA = { max_control_line: 4096, server_tags: ["region:eu", "tier:test"], server_metadata: { team: 'infra "core"' } };

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-server-options-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `nats-server -t` on nats.conf rendered for `target`, beside its auth.conf (included by relative name). */
function checkRendered(extra: Record<string, unknown>, target: RenderTarget): { ok: boolean; output: string } {
  const raw = readStackFile(DEV_STACK_FIXTURE);
  const { config } = parseStackConfig({ ...raw, server: { ...(raw.server as object), extra } });
  const hash = bcrypt.hashSync("pw", TEST_BCRYPT_COST);
  const dir = mkdtempSync(path.join(scratch, "conf-"));
  writeFileSync(path.join(dir, AUTH_CONF_FILE), renderAuthConf(config, Object.fromEntries(natsUsers(config).map((u) => [u.user, hash]))));
  writeFileSync(path.join(dir, NATS_CONF_FILE), renderNatsConf(config, target));
  return checkConfigFile(path.join(dir, NATS_CONF_FILE));
}

describe("server.extra", () => {
  const targets: [string, RenderTarget][] = [
    ["container", { kind: "container" }],
    ["local", { kind: "local", dir: scratch }],
  ];
  for (const [name, target] of targets) {
    test(`the dev stack with extra settings, ${name} target: nats-server -t accepts nats.conf`, () => {
      const result = checkRendered(EXTRA, target);
      expect(result.output).toContain("is valid");
      expect(result.ok, result.output).toBe(true);
    });
  }

  // nats-infra checks a key's form, not that nats-server knows it; the reference promises that
  // the config command's `nats-server -t` stops a misspelt setting before it is installed.
  test("a misspelt extra setting passes the config checks but nats-server -t refuses it", () => {
    const result = checkRendered({ max_contrl_line: 4096 }, { kind: "container" });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('unknown field "max_contrl_line"');
  });

  test("a running server takes the extra settings as written", async () => {
    const nats = await startNats({ services: [{ name: "svc" }], server: { extra: EXTRA } });
    try {
      const varz = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { max_control_line: number; tags: string[]; metadata: Record<string, string> };
      expect(varz.max_control_line).toBe(4096);
      expect(varz.tags).toEqual(EXTRA.server_tags);
      expect(varz.metadata).toEqual(EXTRA.server_metadata);
    } finally {
      await nats.stop();
    }
  });
});
