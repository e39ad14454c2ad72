// Spawns bench/support/programWorker.ts: one program evaluation per fresh process.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ProgramKind, RecordedResource } from "./mockedProgram";
import type { WorkerJob, WorkerResult } from "./programWorker";
import { REPO_ROOT } from "./paths";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const WORKER = path.join(REPO_ROOT, "bench", "support", "programWorker.ts");

export interface ProgramRun extends WorkerResult {
  /** Only when asked for (keepResources). */
  recorded?: RecordedResource[];
  /** Only when asked for (profile): CPU by category over the evaluation. */
  profile?: { category: string; ms: number; share: number }[];
}

export function runInFreshProcess(config: Record<string, unknown>, options: { program?: ProgramKind; keepResources?: boolean; profile?: boolean; timeoutMs?: number } = {}): ProgramRun {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-bench-"));
  try {
    const job: WorkerJob = {
      config,
      program: options.program ?? "index",
      resultFile: path.join(dir, "result.json"),
      resourcesFile: options.keepResources ? path.join(dir, "resources.json") : undefined,
      profileFile: options.profile ? path.join(dir, "profile.json") : undefined,
    };
    writeFileSync(path.join(dir, "job.json"), JSON.stringify(job));
    const child = spawnSync(TSX, [WORKER, path.join(dir, "job.json")], { cwd: REPO_ROOT, encoding: "utf8", timeout: options.timeoutMs ?? 300_000 });
    if (child.status !== 0) throw new Error(`program worker failed (${child.signal ?? child.status}):\n${child.stderr}`);
    const result = JSON.parse(readFileSync(job.resultFile, "utf8")) as ProgramRun;
    if (job.profileFile) result.profile = JSON.parse(readFileSync(job.profileFile, "utf8")) as ProgramRun["profile"];
    if (job.resourcesFile) result.recorded = JSON.parse(readFileSync(job.resourcesFile, "utf8")) as RecordedResource[];
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
