// One program evaluation under mocks, in its own process (spawned by bench/support/
// programRuns.ts), so that peak RSS and module state belong to this evaluation alone.
//
//   tsx bench/support/programWorker.ts <job.json>
//
// job.json: { config, program: "index" | "floor", resultFile, resourcesFile? }. Writes timings,
// memory and resource counts to resultFile; with resourcesFile, also every recorded resource
// (name, type, unwrapped inputs) so that two runs can be diffed.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { breakdown, profile } from "./cpuProfile";
import type { ProgramKind } from "./mockedProgram";

export interface WorkerJob {
  config: Record<string, unknown>;
  program: ProgramKind;
  resultFile: string;
  resourcesFile?: string;
  /** Profile the evaluation (not module loading) and write the category breakdown here. */
  profileFile?: string;
}

export interface WorkerResult {
  /** Loading the Pulumi SDK and providers: the same at every size, kept apart. */
  loadMs: number;
  /** From setMocks to every export resolved. */
  evalMs: number;
  /** CPU (user + system) over the same span; less disturbed than wall time by other load. */
  evalCpuMs: number;
  /** Of evalCpuMs, the CPU spent inside the mock (mostly bcrypt at cost 4). */
  mockMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  resources: number;
  byType: Record<string, number>;
}

async function main() {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error("usage: programWorker.ts <job.json>");
  const job = JSON.parse(readFileSync(jobFile, "utf8")) as WorkerJob;

  const loadStart = performance.now();
  const { runProgramOnce } = await import("./mockedProgram");
  await import("@pulumi/docker");
  await import("@pulumi/random");
  await import("@pulumi/command");
  const loadMs = performance.now() - loadStart;
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;

  const cpuStart = process.cpuUsage();
  const evalStart = performance.now();
  let run: Awaited<ReturnType<typeof runProgramOnce>>;
  if (job.profileFile) {
    const profiled = await profile(() => runProgramOnce(job.config, job.program));
    run = profiled.value;
    writeFileSync(job.profileFile, JSON.stringify(breakdown(profiled.profile)));
  } else {
    run = await runProgramOnce(job.config, job.program);
  }
  const evalMs = performance.now() - evalStart;
  const cpu = process.cpuUsage(cpuStart);

  const byType: Record<string, number> = {};
  for (const r of run.resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
  const result: WorkerResult = {
    loadMs,
    evalMs,
    evalCpuMs: (cpu.user + cpu.system) / 1000,
    mockMs: run.mockMs,
    rssBeforeMb,
    // ru_maxrss is in kilobytes on Linux: the peak over the whole process.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
    resources: run.resources.length,
    byType,
  };
  writeFileSync(job.resultFile, JSON.stringify(result));
  if (job.resourcesFile) writeFileSync(job.resourcesFile, JSON.stringify(run.resources));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // The stack helps here: a failure is a bug in the program or the bench, not bad input.
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
