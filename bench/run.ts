// Benchmarks: `npm run bench` runs every part; `npm run bench -- program auth` runs some.
// Each part prints tables and writes bench/results/<part>.json. Nothing here asserts on time:
// compare figures from the same run, on the same machine, as ratios.
//
//   BENCH_REPEATS=n        runs per case (default: program 3, datapath 9, reconcile 3, cluster 5, engine 3, inboxes 5); medians are reported
//   BENCH_AUTH_CHANGES=20  consecutive auth changes in the live auth bench
import { benchAuth } from "./auth";
import { benchCluster } from "./cluster";
import { benchDataPath } from "./dataPath";
import { benchEngine } from "./engine";
import { benchInboxes } from "./inboxes";
import { benchProgram } from "./program";
import { benchReconcile } from "./reconcile";

/** Each part gets BENCH_REPEATS if set, else its own default. */
const PARTS: Record<string, (repeats?: number) => Promise<void>> = {
  program: benchProgram,
  auth: benchAuth,
  datapath: benchDataPath,
  reconcile: benchReconcile,
  cluster: benchCluster,
  engine: benchEngine,
  inboxes: benchInboxes,
};

async function main() {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((p) => !(p in PARTS));
  if (unknown.length) throw new Error(`unknown bench part(s): ${unknown.join(", ")}; parts: ${Object.keys(PARTS).join(", ")}`);
  const repeats = process.env.BENCH_REPEATS === undefined ? undefined : Number(process.env.BENCH_REPEATS);
  if (repeats !== undefined && (!Number.isInteger(repeats) || repeats < 1)) throw new Error(`BENCH_REPEATS must be a positive integer, got ${process.env.BENCH_REPEATS}`);
  for (const part of asked.length ? asked : Object.keys(PARTS)) {
    console.log(`\n=== bench ${part}`);
    await PARTS[part](repeats);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
