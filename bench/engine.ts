// Part "engine": what the real Pulumi engine costs for the everyday change, beside the same
// program under mocks. Per stack size (10 and 100 services, one stream), a throwaway stack
// (test/harness/engine.ts) is deployed once; then each repeat measures, as a user runs them:
// a no-op `npm run up`, `npm run preview` of adding a service, `npm run up` adding it, and
// (not measured) the `up` removing it again. Beside them: one program evaluation under mocks
// of the same stack, in a fresh process (bench/support/programRuns.ts). Ratios, not seconds,
// are what carries over to another machine.
import { EngineStack, prepareEngine } from "../test/harness/engine";
import { freePort } from "../test/harness/ports";
import { runInFreshProcess } from "./support/programRuns";
import { machine, median, printTable, writeResults, type Row } from "./support/report";
import { syntheticService, syntheticStack } from "./support/stackFixtures";

const SIZES = [10, 100];

interface Sample {
  noopUpMs: number;
  previewAddMs: number;
  upAddMs: number;
  mockEvalMs: number;
}

export async function benchEngine(repeats = 3): Promise<void> {
  prepareEngine();
  const results: { services: number; samples: Sample[] }[] = [];
  for (const services of SIZES) {
    const base = syntheticStack({ services, streams: 1 });
    const stack = new EngineStack({
      ...base,
      server: { ...(base.server as object), clientPort: await freePort(), monitorPort: await freePort() },
      docker: { surveyor: { port: await freePort() } },
    });
    const samples: Sample[] = [];
    try {
      await stack.npmOk("up", ["--yes"]);
      const added = { ...base, ...stack.config, services: [...(base.services as object[]), { ...syntheticService(services, services + 1), name: "svc-added" }] };
      for (let r = 0; r < repeats; r++) {
        const withoutAdded = stack.config;
        const noop = await stack.npmOk("up", ["--yes"]);
        stack.setConfig(added);
        const preview = await stack.npmOk("preview");
        const up = await stack.npmOk("up", ["--yes"]);
        stack.setConfig(withoutAdded);
        await stack.npmOk("up", ["--yes"]);
        const mock = runInFreshProcess({ ...base, services: added.services });
        samples.push({ noopUpMs: noop.ms, previewAddMs: preview.ms, upAddMs: up.ms, mockEvalMs: mock.evalMs });
        console.log(`  [${r + 1}/${repeats}] services=${services}: no-op up ${noop.ms} ms, preview +1 ${preview.ms} ms, up +1 ${up.ms} ms, mocks ${mock.evalMs.toFixed(0)} ms`);
      }
    } finally {
      await stack.dispose();
    }
    results.push({ services, samples });
  }

  const rows: Row[] = results.map(({ services, samples }) => {
    const m = (key: keyof Sample) => median(samples.map((s) => s[key]));
    return {
      services,
      "no-op up ms": m("noopUpMs"),
      "preview +1 ms": m("previewAddMs"),
      "up +1 ms": m("upAddMs"),
      "mocks eval ms": m("mockEvalMs"),
      "preview / mocks": m("previewAddMs") / m("mockEvalMs"),
      "up +1 / mocks": m("upAddMs") / m("mockEvalMs"),
      "up +1 / no-op up": m("upAddMs") / m("noopUpMs"),
    };
  });
  printTable(`The real engine beside mocks: adding a service (median of ${repeats})`, rows);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const growth: Row[] = ["no-op up ms", "preview +1 ms", "up +1 ms", "mocks eval ms"].map((key) => ({
    figure: key,
    [`${last.services} / ${first.services} services`]: Number(last[key]) / Number(first[key]),
  }));
  printTable("Growth with the stack", growth);
  console.log(`results: ${writeResults("engine", { machine: machine(), repeats, rows, growth, results })}`);
}
