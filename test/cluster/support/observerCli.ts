// The real natscli (.tools/bin/nats) as an operator runs it with the observer credential: from a
// natscli context file, the one nats-box gets (config/observer.ts observerContext), written to a
// private temporary directory that also serves as natscli's HOME, so no context of the machine
// is read. Shared by the single-server and the cluster tests of the observer.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { toolPath } from "../../harness/tools";

export interface CliResult {
  status: number;
  /** stdout and stderr together: natscli reports a server's -ERR on stderr. */
  output: string;
}

export interface ObserverCli {
  /** Runs `nats <args>` with the observer's context; never throws for a non-zero exit. */
  run(args: string[]): Promise<CliResult>;
  dispose(): void;
}

/** `context`: what natscli reads from the file NATS_CONTEXT names (url, user, password, inbox_prefix, ...). */
export function observerCli(context: Record<string, string>): ObserverCli {
  const home = mkdtempSync(path.join(tmpdir(), "nats-infra-observer-"));
  const file = path.join(home, "observer-context.json");
  writeFileSync(file, JSON.stringify(context), { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: home, NATS_CONTEXT: file };
  return {
    run: (args) =>
      new Promise((resolve) => {
        // A refused request waits for natscli's timeout: 3 s keeps a refusal quick yet leaves a
        // loaded machine time to answer a permitted one.
        execFile(toolPath("nats"), ["--timeout", "3s", ...args], { env, timeout: 60_000, encoding: "utf8" }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ status: code, output: `${stdout}${stderr}` });
        });
      }),
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** The server-wide reports an operator runs (`nats server report <what>`); each must succeed. */
export const SERVER_REPORTS: string[][] = [
  ["accounts"],
  ["connections"],
  ["cpu"],
  ["mem"],
  ["health"],
  ["jetstream"],
  ["routes"],
  ["gateways"],
  ["leafnodes"],
  ["downgrade", "1"],
].map((what) => ["server", "report", ...what]);

/** What the server says when it refuses a publish: natscli prints it as it arrives. */
export const refusedPublish = (subject: string) => `Permissions Violation for Publish to "${subject}"`;
