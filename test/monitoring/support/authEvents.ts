// Runs the real exporter of refused logins (.tools/bin/nats-infra-auth-events, built from
// tools/auth-events by `npm run tools`) on 127.0.0.1 and a free port, with its password in a
// private file as the container gets it, and reads its /metrics. Also makes refused logins.
import { connect } from "@nats-io/transport-node";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AUTH_EVENTS_USER } from "../../../config/users";
import { waitFor } from "../../harness/natsServer";
import { freePort } from "../../harness/ports";
import { AUTH_EVENTS_BINARY, builtAuthEventsBinary } from "../../../render/monitoring/authEvents";
import { terminate } from "../../harness/processes";

/** The exporter `npm run tools` built; throws, saying how to build it, when it is missing. */
export const authEventsBinary = (): string => builtAuthEventsBinary();

export interface AuthEventsOptions {
  /** NATS URLs, comma-separated. */
  servers: string;
  password: string;
  /** Names counted under their own `user` label. */
  users?: string[];
  /** Servers whose counters start at 0. */
  serverNames?: string[];
  inboxPrefix?: string;
}

export interface RunningAuthEvents {
  /** host:port of /metrics, as a Prometheus target. */
  target: string;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** One sample's value (undefined when the series is absent). */
  sample(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  log(): string;
  stop(): Promise<void>;
}

/** The value of `name{labels}` in Prometheus text, labels compared exactly and completely. */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).sort().join(",");
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").filter(Boolean).sort().join(",");
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

export async function startAuthEvents(options: AuthEventsOptions): Promise<RunningAuthEvents> {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-auth-events-"));
  const passwordFile = path.join(dir, "password");
  writeFileSync(passwordFile, options.password, { mode: 0o600 });
  const port = await freePort();
  const args = ["--servers", options.servers, "--user", AUTH_EVENTS_USER, "--password-file", passwordFile, "--listen", `127.0.0.1:${port}`];
  if (options.users?.length) args.push("--users", options.users.join(","));
  if (options.serverNames?.length) args.push("--server-names", options.serverNames.join(","));
  if (options.inboxPrefix) args.push("--inbox-prefix", options.inboxPrefix);
  const child: ChildProcess = spawn(authEventsBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const target = `127.0.0.1:${port}`;
  const metrics = async () => {
    const response = await fetch(`http://${target}/metrics`);
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    return response.text();
  };
  const running: RunningAuthEvents = {
    target,
    metrics,
    sample: async (name, labels) => sampleOf(await metrics(), name, labels),
    log: () => log,
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => child.exitCode !== null || (await fetch(`http://${target}/metrics`)).ok, 10_000, () => `${AUTH_EVENTS_BINARY} did not serve /metrics:\n${log}`);
    if (child.exitCode !== null) throw new Error(`${AUTH_EVENTS_BINARY} exited with ${child.exitCode}:\n${log}`);
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}

/** `count` logins as `user` with a wrong password, each refused by the server (or the test fails). */
export async function refusedLogins(servers: string[], user: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const refused = await connect({ servers, user, pass: "not-the-password", maxReconnectAttempts: 0, reconnect: false, name: "monitoring-test wrong password" }).then(
      async (nc) => {
        await nc.close();
        return false;
      },
      (error: Error) => /authorization/i.test(String(error.message ?? error)),
    );
    if (!refused) throw new Error(`login ${i + 1} as ${user} with a wrong password was not refused for authorization`);
  }
}
