// Tables for the terminal and JSON files under bench/results/ (gitignored). Every result file
// carries the machine it ran on, so numbers from different machines are never compared.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RESULTS_DIR } from "./paths";

export type Row = Record<string, string | number>;

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return console.log("  (no rows)");
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) => (v === undefined ? "" : typeof v === "number" ? formatNumber(v) : v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => "| " + values.map((v, i) => v.padEnd(widths[i])).join(" | ") + " |";
  console.log(line(columns));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  node: string;
  natsServer: string;
  natscli: string;
  /** 1, 5 and 15 minute load averages: other work on the machine skews wall times. */
  loadAverage: number[];
}

export function machine(tools: { natsServer?: string; nats?: string } = {}): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const version = (binary: string | undefined) => {
    if (!binary) return "";
    try {
      return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    node: process.version,
    natsServer: version(tools.natsServer),
    natscli: version(tools.nats),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function writeResults(part: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${part}.json`);
  writeFileSync(file, JSON.stringify({ part, at: new Date().toISOString(), ...(data as object) }, null, 2) + "\n");
  return file;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
