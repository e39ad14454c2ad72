// Part "program": what evaluating the Pulumi program costs as the stack grows, under mocks.
// Each evaluation runs in a fresh process (peak RSS is per process); sizes are interleaved
// across repeats so that drifting load on the machine spreads over all of them. The floor rows
// evaluate only the passwords (bench/support/floorProgram.ts): the Pulumi SDK's own
// per-resource work, which no change to config/, render/ or components/ can remove.
import { runInFreshProcess, type ProgramRun } from "./support/programRuns";
import { machine, median, printTable, writeResults, type Row } from "./support/report";
import { syntheticStack } from "./support/stackFixtures";

const SERVICES = [10, 100, 1000];
const STREAMS = [10, 100];
/** Internal NATS users next to the services: surveyor, tools, one JetStream admin. */
const INTERNAL_USERS = 3;

interface Case {
  label: string;
  services: number;
  streams: number | "-";
  run: () => ProgramRun;
}

export async function benchProgram(repeats = 3): Promise<void> {
  const cases: Case[] = [];
  for (const streams of STREAMS) {
    for (const services of SERVICES) {
      cases.push({ label: "program", services, streams, run: () => runInFreshProcess(syntheticStack({ services, streams })) });
    }
  }
  for (const services of SERVICES) {
    cases.push({ label: "floor", services, streams: "-", run: () => runInFreshProcess({ floorUsers: String(services + INTERNAL_USERS) }, { program: "floor" }) });
  }

  const samples = new Map<Case, ProgramRun[]>(cases.map((c) => [c, []]));
  for (let r = 0; r < repeats; r++) {
    for (const c of cases) {
      const run = c.run();
      samples.get(c)!.push(run);
      console.log(`  [${r + 1}/${repeats}] ${c.label} services=${c.services} streams=${c.streams}: eval ${run.evalMs.toFixed(0)} ms wall, ${run.evalCpuMs.toFixed(0)} ms CPU`);
    }
  }

  const summary = cases.map((c) => summarise(c, samples.get(c)!));
  const rows: Row[] = summary.map((s) => ({
    program: s.label,
    services: s.services,
    streams: s.streams,
    resources: s.resources,
    "eval wall ms": s.evalMs,
    "eval CPU ms": s.evalCpuMs,
    "mock bcrypt ms": s.mockMs,
    "CPU excl. mock ms": s.programCpuMs,
    "CPU/resource ms": s.programCpuMs / s.resources,
    "peak RSS MB": s.peakRssMb,
    "RSS over baseline MB": s.peakRssMb - s.rssBeforeMb,
  }));
  printTable(`Program evaluation under mocks (median of ${repeats} fresh processes)`, rows);

  const growth: Row[] = [];
  for (const label of ["program", "floor"]) {
    for (const streams of label === "program" ? STREAMS : ["-" as const]) {
      const at = (services: number) => summary.find((s) => s.label === label && s.services === services && s.streams === streams)!;
      const [small, large] = [at(100), at(1000)];
      growth.push({
        program: label,
        streams,
        "resources x": large.resources / small.resources,
        "eval wall x": large.evalMs / small.evalMs,
        "CPU excl. mock x": large.programCpuMs / small.programCpuMs,
        "RSS over baseline x": (large.peakRssMb - large.rssBeforeMb) / (small.peakRssMb - small.rssBeforeMb),
      });
    }
  }
  printTable("Growth from 100 to 1000 services (linear = 10x; fixed costs pull it below)", growth);

  const overFloor: Row[] = SERVICES.map((services) => {
    const program = summary.find((s) => s.label === "program" && s.services === services && s.streams === 10)!;
    const floor = summary.find((s) => s.label === "floor" && s.services === services)!;
    return {
      services,
      "program CPU excl. mock ms": program.programCpuMs,
      "floor CPU excl. mock ms": floor.programCpuMs,
      "program / floor": program.programCpuMs / floor.programCpuMs,
      "ours (difference) ms": program.programCpuMs - floor.programCpuMs,
    };
  });
  printTable("The program next to its floor (same number of passwords, nothing else), 10 streams", overFloor);

  // Where the time goes at the largest size: one more evaluation, profiled.
  const profiled = runInFreshProcess(syntheticStack({ services: 1000, streams: 10 }), { profile: true });
  const profileRows: Row[] = profiled.profile!.map((p) => ({ category: p.category, "CPU ms (profiled)": p.ms, share: `${(p.share * 100).toFixed(0)}%` }));
  printTable("Where the CPU goes: 1000 services, 10 streams, one profiled evaluation (profiling adds overhead)", profileRows);

  const file = writeResults("program", { machine: machine(), repeats, summary, growth, overFloor, profile: profiled.profile, samples: cases.map((c) => ({ label: c.label, services: c.services, streams: c.streams, runs: samples.get(c)!.map((s) => ({ ...s, recorded: undefined })) })) });
  console.log(`\nwrote ${file}`);
}

function summarise(c: Case, runs: ProgramRun[]) {
  const m = (pick: (r: ProgramRun) => number) => median(runs.map(pick));
  return {
    label: c.label,
    services: c.services,
    streams: c.streams,
    resources: runs[0].resources,
    loadMs: m((r) => r.loadMs),
    evalMs: m((r) => r.evalMs),
    evalCpuMs: m((r) => r.evalCpuMs),
    mockMs: m((r) => r.mockMs),
    programCpuMs: m((r) => r.evalCpuMs - r.mockMs),
    peakRssMb: m((r) => r.peakRssMb),
    rssBeforeMb: m((r) => r.rssBeforeMb),
  };
}
