// Part "reconcile": the streams reconciler (cli/streams.ts) applying 100 streams (each with a
// durable consumer) to an empty server, rerunning with nothing to do, and a dry run; then the
// way the Pulumi component runs it: one `apply --from-stdin` process per account, next to the
// earlier design of one process per stream, all started at once on a first `pulumi up` (what
// Pulumi does with unbounded parallelism). A fresh server for every apply.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { parseStackConfig } from "../config/load";
import { jetstreamAdminUser } from "../config/users";
import { accountStdin } from "../components/natsStreams";
import { startNats, type RunningNats } from "../test/harness/natsServer";
import { toolPath } from "../test/harness/tools";
import { runJobs, type Job, type JobsResult } from "./support/childProcesses";
import { REPO_ROOT } from "./support/paths";
import { machine, median, printTable, writeResults, type Row } from "./support/report";
import { syntheticStack } from "./support/stackFixtures";

const STREAMS = 100;
const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(REPO_ROOT, "cli", "streams.ts");
const ADMIN = jetstreamAdminUser("APP");

function env(nats: RunningNats): NodeJS.ProcessEnv {
  return { ...process.env, NATS_URL: nats.url, NATS_USER: ADMIN, NATS_PASSWORD: nats.passwords[ADMIN] };
}

function cli(nats: RunningNats, stackFile: string, extra: string[] = []): Job {
  return { command: TSX, args: [CLI, "--stack-file", stackFile, "--url", nats.url, ...extra], env: env(nats), cwd: REPO_ROOT };
}

function checked(label: string, result: JobsResult): JobsResult {
  if (result.failures.length) throw new Error(`${label}: ${result.failures.length} run(s) failed, first:\n${result.failures[0].stderr}`);
  return result;
}

export async function benchReconcile(repeats = 3): Promise<void> {
  if (!existsSync(CLI)) {
    console.log(`cli/streams.ts is not there: the streams reconciler is not written yet, nothing to bench.`);
    writeResults("reconcile", { available: false });
    return;
  }
  const stack = syntheticStack({ services: 10, streams: STREAMS });
  const { config } = parseStackConfig(stack);
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-bench-streams-"));
  const stackFile = path.join(dir, "Pulumi.bench.yaml");
  writeFileSync(stackFile, stringify({ config: Object.fromEntries(Object.entries(stack).map(([k, v]) => [`nats-infra:${k}`, v])) }));

  const samples: Record<string, { wallMs: number; childCpuMs: number; peakRssMb: number }[]> = {};
  const record = (label: string, result: JobsResult) => {
    (samples[label] ??= []).push({ wallMs: result.wallMs, childCpuMs: result.childCpuMs, peakRssMb: result.peakRssMb });
    console.log(`  ${label}: ${result.wallMs.toFixed(0)} ms wall, ${result.childCpuMs.toFixed(0)} ms CPU, peak ${result.peakRssMb.toFixed(0)} MB`);
  };
  let lastOutput = "";
  try {
    // The Pulumi component's way on a first `pulumi up`: one process per stream, all at once
    // (Pulumi's default parallelism is unbounded). Expensive, so once, not per repeat.
    const nats = await startNats(stack);
    try {
      const perStream = config.streams.map((stream) => ({ ...cli(nats, ""), args: [CLI, "apply", "--from-stdin"], stdin: JSON.stringify(stream) }));
      record(`earlier design, first up: ${STREAMS} one-stream processes at once (1 run)`, checked("per-stream apply", await runJobs(perStream)));
    } finally {
      await nats.stop();
    }
    for (let r = 0; r < repeats; r++) {
      // The stack CLI, as a person runs it.
      let nats = await startNats(stack);
      try {
        record("process start only (--help)", checked("help", await runJobs([{ command: TSX, args: [CLI, "--help"], env: process.env, cwd: REPO_ROOT }])));
        record(`CLI dry run, ${STREAMS} streams to create`, checked("dry run", await runJobs([cli(nats, stackFile, ["--dry-run"])])));
        const applied = checked("apply", await runJobs([cli(nats, stackFile)]));
        record(`CLI apply, ${STREAMS} streams + ${STREAMS} consumers created`, applied);
        const noop = checked("no-op", await runJobs([cli(nats, stackFile)]));
        record("CLI rerun, nothing to do", noop);
        lastOutput = noop.stdout[0].trim().split("\n").at(-1) ?? "";
      } finally {
        await nats.stop();
      }
      // The Pulumi component's way: one process for the account, on a first up and on a rerun
      // after one stream changed (the account's command runs again as a whole).
      nats = await startNats(stack);
      try {
        const account = { ...cli(nats, ""), args: [CLI, "apply", "--from-stdin"], stdin: accountStdin("APP", config.streams) };
        record(`Pulumi path, first up: one account process, ${STREAMS} streams`, checked("account apply", await runJobs([account])));
        const changed = config.streams.map((s, i) => (i === 0 ? { ...s, maxMsgs: 12345 } : s));
        const rerun = { ...account, stdin: accountStdin("APP", changed) };
        record("Pulumi path, one stream changed: one account process", checked("account rerun", await runJobs([rerun])));
      } finally {
        await nats.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = Object.entries(samples).map(([label, runs]) => ({
    run: label,
    "wall ms": median(runs.map((x) => x.wallMs)),
    "CPU ms (children)": median(runs.map((x) => x.childCpuMs)),
    "peak RSS MB (summed)": median(runs.map((x) => x.peakRssMb)),
  }));
  printTable(`Streams reconciler, ${STREAMS} streams with one consumer each, median of ${repeats} (fresh server per repeat)`, rows);
  console.log(`  no-op rerun said: ${lastOutput}`);
  const file = writeResults("reconcile", { available: true, machine: machine({ natsServer: toolPath("nats-server") }), repeats, streams: STREAMS, rows, samples, noopSummary: lastOutput });
  console.log(`\nwrote ${file}`);
}
