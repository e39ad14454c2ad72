// Runs natscli's `nats bench` (v0.5.0 syntax: `bench pub|sub <subject>`, `bench js pub
// sync|async <subject>`) and reads its CSV. Credentials go through NATS_USER/NATS_PASSWORD in
// the environment, never on the command line.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "../../test/harness/natsServer";
import { toolPath } from "../../test/harness/tools";

export interface Target {
  url: string;
  monitorUrl: string;
  user?: string;
  password?: string;
}

const TIMEOUT_MS = 120_000;

/** Messages per second from the CSV's first data row (one client). */
function rate(csvFile: string): number {
  const [header, row] = readFileSync(csvFile, "utf8").trim().split("\n");
  const column = header.split(",").indexOf("MsgsPerSec");
  if (!row || column < 0) throw new Error(`nats bench wrote no result to ${csvFile}`);
  return Number(row.split(",")[column]);
}

function run(target: Target, args: string[], csv: string): { done: Promise<void>; kill: () => void } {
  const env: NodeJS.ProcessEnv = { ...process.env, NATS_URL: target.url };
  delete env.NATS_USER;
  delete env.NATS_PASSWORD;
  if (target.user) Object.assign(env, { NATS_USER: target.user, NATS_PASSWORD: target.password ?? "" });
  const child = spawn(toolPath("nats"), ["bench", ...args, "--no-progress", "--csv", csv, "--no-context"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const done = new Promise<void>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`nats bench ${args.join(" ")} failed (${signal ?? code}):\n${stderr.slice(-2000)}`));
    });
  });
  return { done, kill: () => child.kill("SIGKILL") };
}

function withDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-bench-csv-"));
  return work(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Core pub/sub: a subscriber, then a publisher; the subscriber's rate is delivered msgs/s. */
export function corePubSub(target: Target, subject: string, msgs: number, size = "128B"): Promise<{ pub: number; sub: number }> {
  return withDir(async (dir) => {
    const common = ["--msgs", String(msgs), "--size", size];
    const sub = run(target, ["sub", subject, ...common], path.join(dir, "sub.csv"));
    try {
      await waitFor(async () => subscribed(target.monitorUrl, subject), 10_000, () => "the bench subscriber did not subscribe");
      const pub = run(target, ["pub", subject, ...common], path.join(dir, "pub.csv"));
      await pub.done;
      await sub.done;
    } catch (error) {
      sub.kill();
      throw error;
    }
    return { pub: rate(path.join(dir, "pub.csv")), sub: rate(path.join(dir, "sub.csv")) };
  });
}

/** JetStream publish into an existing stream, waiting for acks: sync (one at a time) or async (batches). */
export function jsPublish(target: Target, mode: "sync" | "async", stream: string, subject: string, msgs: number): Promise<number> {
  return withDir(async (dir) => {
    const args = ["js", "pub", mode, subject, "--stream", stream, "--msgs", String(msgs), "--size", "128B"];
    if (mode === "async") args.push("--batch", "500");
    const bench = run(target, args, path.join(dir, "js.csv"));
    await bench.done;
    return rate(path.join(dir, "js.csv"));
  });
}

async function subscribed(monitorUrl: string, subject: string): Promise<boolean> {
  const connz = (await (await fetch(`${monitorUrl}/connz?subs=1`)).json()) as { connections?: { subscriptions_list?: string[] }[] };
  return (connz.connections ?? []).some((c) => (c.subscriptions_list ?? []).includes(subject));
}
