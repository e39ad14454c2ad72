// Runs commands as child processes and measures them together: wall time, CPU of the children
// (cutime + cstime of this process, which counts every descendant waited for) and the peak of
// the summed resident memory of their process trees, sampled from /proc while they run.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

export interface Job {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  stdin?: string;
  cwd: string;
}

export interface JobsResult {
  wallMs: number;
  childCpuMs: number;
  peakRssMb: number;
  failures: { job: number; code: number | null; stderr: string }[];
  stdout: string[];
}

const TICKS_PER_SECOND = 100;
const TIMEOUT_MS = 600_000;

function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND) * 1000;
}

/** Resident memory of a process and all its descendants (tsx runs the script in a child node). */
function treeRssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const own = match ? Number(match[1]) / 1024 : 0;
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
    );
    return own + children.reduce((sum, child) => sum + treeRssMb(child), 0);
  } catch {
    return 0; // exited between the listing and the read
  }
}

/** Runs every job, at most `concurrency` at once (Infinity: all at once, as Pulumi does by default). */
export async function runJobs(jobs: Job[], concurrency = Infinity): Promise<JobsResult> {
  const cpuStart = childrenCpuMs();
  const start = performance.now();
  const live = new Set<number>();
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, [...live].reduce((sum, pid) => sum + treeRssMb(pid), 0));
  }, 50);
  const failures: JobsResult["failures"] = [];
  const stdout: string[] = new Array(jobs.length).fill("");
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index];
      await new Promise<void>((resolve) => {
        const child = spawn(job.command, job.args, { cwd: job.cwd, env: job.env, stdio: ["pipe", "pipe", "pipe"] });
        live.add(child.pid!);
        let stderr = "";
        child.stdout!.on("data", (d) => (stdout[index] += d));
        child.stderr!.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
        child.on("exit", (code) => {
          clearTimeout(timer);
          live.delete(child.pid!);
          if (code !== 0) failures.push({ job: index, code, stderr: stderr.slice(-1000) });
          resolve();
        });
        child.stdin!.end(job.stdin ?? "");
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  } finally {
    clearInterval(sampler);
  }
  return { wallMs: performance.now() - start, childCpuMs: childrenCpuMs() - cpuStart, peakRssMb, failures, stdout };
}
