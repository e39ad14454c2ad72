// Generated stack configs (seeded, so every run checks the same ones) on the real nats-server:
// each renders to a config `nats-server -t` accepts; each declared allow is granted and a wide
// sample of other subjects refused; stream and service imports work across accounts, and
// subjects nobody exported stay in their account.
import { afterAll, describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import { generateConfigs, type GeneratedConfig } from "../harness/generate";
import { startNats } from "../harness/natsServer";
import { checkStackConfig, PermissionProbe, probeDeclaredServices, withObservers } from "../harness/permissionProbe";

const SEED = 20_261_104;
const CONFIG_COUNT = 20;
const configs = generateConfigs(SEED, CONFIG_COUNT);
const totals = { configs: 0, services: 0, publishAllowed: 0, publishDenied: 0, subscribeAllowed: 0, subscribeDenied: 0, crossings: 0, isolated: 0 };

afterAll(() => console.log(`multiAccount.test (seed ${SEED}): ${JSON.stringify(totals)}`));

test("the generator covers one, two and three accounts, imports of both kinds, streams, and every wildcard form", () => {
  const accountCounts = new Set(configs.map((c) => c.accounts.length));
  expect([...accountCounts].sort()).toEqual([1, 2, 3]);
  const kinds = new Set(configs.flatMap((c) => c.crossings.map((x) => x.kind)));
  expect([...kinds].sort()).toEqual(["service", "stream"]);
  expect(configs.some((c) => c.crossings.some((x) => x.kind === "service" && x.localSubject !== x.subject))).toBe(true);
  expect(configs.some((c) => Array.isArray(c.raw.streams))).toBe(true);
  const patterns = configs.flatMap((c) => (c.raw.services as { publish: string[]; subscribe: string[] }[]).flatMap((s) => [...s.publish, ...s.subscribe]));
  expect(patterns.some((p) => p.endsWith(".*"))).toBe(true);
  expect(patterns.some((p) => p.endsWith(".>"))).toBe(true);
  expect(patterns.some((p) => p.startsWith("*."))).toBe(true);
  expect(patterns.some((p) => /\.\*\./.test(p))).toBe(true);
  // Same seed, same configs.
  expect(JSON.stringify(generateConfigs(SEED, CONFIG_COUNT))).toBe(JSON.stringify(configs));
});

describe.each(configs)("generated config $index (seed $seed)", (generated: GeneratedConfig) => {
  test("renders to a config nats-server -t accepts, and the server enforces exactly the declared permissions", async () => {
    const { config } = parseStackConfig(generated.raw);
    const check = checkStackConfig(generated.raw);
    expect(check.output).toContain("is valid");

    const nats = await startNats(withObservers(generated.raw));
    const probe = await PermissionProbe.open(nats);
    try {
      const elsewhere = [...generated.crossings.flatMap((c) => [c.subject, c.localSubject]), ...generated.isolated.map((i) => i.subject)];
      const { problems, counts } = await probeDeclaredServices(probe, config.services, elsewhere);
      expect(problems).toEqual([]);
      totals.services += config.services.length;
      totals.publishAllowed += counts.publishAllowed;
      totals.publishDenied += counts.publishDenied;
      totals.subscribeAllowed += counts.subscribeAllowed;
      totals.subscribeDenied += counts.subscribeDenied;

      for (const crossing of generated.crossings) {
        if (crossing.kind === "stream") {
          expect(await probe.crossesAccounts(crossing.from, crossing.to, crossing.subject), `stream ${crossing.subject} ${crossing.from} -> ${crossing.to}`).toBe(true);
          // An import is one-way: the importing side publishing the same subject reaches nobody upstream.
          expect(await probe.crossesAccounts(crossing.to, crossing.from, crossing.subject)).toBe(false);
        } else {
          const responder = probe.observer(crossing.from);
          const sub = responder.subscribe(crossing.subject, { max: 1, callback: (err, msg) => void (!err && msg.respond(`answer from ${crossing.from}`)) });
          await responder.flush();
          const reply = await probe.observer(crossing.to).request(crossing.localSubject, "question", { timeout: 2_000 });
          expect(reply.string(), `service ${crossing.localSubject} ${crossing.to} -> ${crossing.from}`).toBe(`answer from ${crossing.from}`);
          if (!sub.isClosed()) sub.unsubscribe();
        }
        totals.crossings += 1;
      }
      for (const { from, to, subject } of generated.isolated) {
        expect(await probe.crossesAccounts(from, to, subject), `${subject} must stay in ${from}`).toBe(false);
        totals.isolated += 1;
      }
      totals.configs += 1;
    } finally {
      await probe.close();
      await nats.stop();
    }
  });
});
