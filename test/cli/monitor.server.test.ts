// `nats-infra monitor` against a real server: a `--once` frame while a service publishes (its
// account's rates above zero, --json the same), the live view in a real terminal (tmux): the
// account lines, rates that follow the traffic as it starts and stops, `q` and Ctrl-C quit; and
// without a terminal (stdout a pipe): plain reports one after the other, no escape codes.
import { connect } from "@nats-io/transport-node";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { natsInfra as nats } from "../harness/cli";
import { readStackFile } from "../../config/load";
import type { AccountRates } from "../../ops/status";
import { sleep, startNats, waitFor, type RunningNats } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";


let server: RunningNats;
beforeAll(async () => {
  server = await startNats(readStackFile(DEV_STACK_FIXTURE));
});
afterAll(async () => {
  await traffic?.stop();
  await server?.stop();
});

const targetFlags = () => ["--url", server.url, "--monitor-url", server.monitorUrl];

/** teacher-service (account APP) publishing an event every few milliseconds until stopped. */
let traffic: { stop(): Promise<void> } | undefined;
async function startTraffic(): Promise<void> {
  const nc = await connect({ servers: server.url, user: "teacher-service", pass: server.passwords["teacher-service"] });
  let running = true;
  const loop = (async () => {
    while (running) {
      nc.publish("events.teacher", "an event");
      await sleep(5);
    }
  })();
  traffic = {
    async stop() {
      running = false;
      await loop;
      await nc.close();
      traffic = undefined;
    },
  };
}

/** The cells of the line whose first column is `first`. */
const cellsOf = (screen: string, first: string) =>
  screen
    .split("\n")
    .map((line) => line.trim().split(/\s{2,}/))
    .find((cells) => cells[0] === first);
/** An account line's "msgs in" rate (the third column), NaN while the view has no rate yet. */
const msgsIn = (screen: string, account: string) => Number.parseFloat(cellsOf(screen, account)?.[2] ?? "NaN");

describe("--once", () => {
  test("with a service publishing: its account's rates above zero, the node's health; --json the same", async () => {
    await startTraffic();
    try {
      const frame = await nats("monitor", ...targetFlags(), "--once", "--interval", "1s");
      expect(frame.code, frame.stderr).toBe(0);
      expect(frame.stdout).toContain("rates over 1s");
      expect(msgsIn(frame.stdout, "APP")).toBeGreaterThan(0);
      expect(cellsOf(frame.stdout, "APP")![4]).toMatch(/^[1-9][\d.]* (B|KiB)\/s$/);
      expect(cellsOf(frame.stdout, server.url)!.slice(1, 3)).toEqual(["nats-0", "ok"]);
      expect(frame.stdout).not.toContain("\x1b[");

      const json = await nats("monitor", ...targetFlags(), "--once", "--interval", "500ms", "--json");
      const { rates } = JSON.parse(json.stdout) as { rates: AccountRates[] };
      expect(rates.find((r) => r.account === "APP")!.inMsgs).toBeGreaterThan(0);
    } finally {
      await traffic?.stop();
    }
  });

  test("nothing listening: exit 3; a bad interval: exit 2 with the usage, no stack trace", async () => {
    const port = await freePort();
    const none = await nats("monitor", "--url", `nats://127.0.0.1:${port}`, "--monitor-url", `http://127.0.0.1:${port}`, "--once", "--interval", "200ms");
    expect(none.code).toBe(3);
    expect(none.stdout).toContain("no node answers");
    const bad = await nats("monitor", ...targetFlags(), "--interval", "soon");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--interval soon: give a duration of at least 200ms");
    expect(bad.stderr).toContain("usage: npx nats-infra monitor");
    expect(bad.stderr).not.toMatch(/^\s+at /m);
  });
});

test("without a terminal (stdout a pipe): one plain report per interval, no escape codes; SIGTERM ends it with exit 0", async () => {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), "monitor", ...targetFlags(), "--interval", "300ms"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await waitFor(async () => (out.match(/nats-infra monitor:/g) ?? []).length >= 3, 30_000, () => `monitor wrote fewer than 3 reports:\n${out}${err}`);
    child.kill("SIGTERM");
    expect(await exited, err).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  expect(JSON.stringify(out)).not.toContain("\\u001b");
  const reports = out.trimEnd().split(/\n\n(?=nats-infra monitor:)/);
  expect(reports.length).toBeGreaterThanOrEqual(3);
  for (const report of reports) {
    expect(report).toMatch(/^nats-infra monitor: /);
    expect(cellsOf(report, "APP")).toBeDefined();
    expect(cellsOf(report, server.url)!.slice(1, 3)).toEqual(["nats-0", "ok"]);
  }
  // Rates need two samples: the first report has none, the next ones do.
  expect(cellsOf(reports[0], "APP")![2]).toBe("-");
  expect(msgsIn(reports[1], "APP")).toBe(0);
});

describe("in a real terminal (tmux)", () => {
  // Our own tmux server (its own socket, no user config), killed at the end.
  const socket = `nats-infra-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  const screen = (session: string) => tmux("capture-pane", "-p", "-t", session).stdout;

  beforeAll(() => {
    const version = spawnSync("tmux", ["-V"], { encoding: "utf8" });
    if (version.error || version.status !== 0) {
      throw new Error("tmux is not installed; the live view is tested in a real terminal: apt-get install -y tmux (Debian/Ubuntu) or brew install tmux");
    }
  });
  afterAll(() => void tmux("kill-server"));

  /** `npx nats-infra monitor` in a new 150x40 terminal; the shell says how it exited. */
  function startMonitor(session: string): void {
    const command = [
      `cd ${shellQuote(REPO_ROOT)}`,
      `export PATH=${shellQuote(path.dirname(process.execPath))}:"$PATH"`,
      `npx nats-infra monitor --url ${server.url} --monitor-url ${server.monitorUrl} --interval 1s`,
      `echo "monitor exited with $?"`,
      "sleep 120",
    ].join("; ");
    const started = tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "40", command);
    expect(started.status, started.stderr).toBe(0);
  }

  async function until(session: string, check: (text: string) => boolean, what: string): Promise<string> {
    let text = "";
    await waitFor(async () => check((text = screen(session))), 45_000, () => `the terminal never showed ${what}; it shows:\n${text}`);
    return text;
  }

  test("the view follows the traffic as it starts and stops; q quits with exit 0", async () => {
    startMonitor("live");
    const idle = await until("live", (t) => msgsIn(t, "APP") === 0, "APP with no messages per second");
    expect(idle).toContain("(q or Ctrl-C quits)");
    expect(cellsOf(idle, "SYS")).toBeDefined();
    expect(cellsOf(idle, server.url)!.slice(1, 3)).toEqual(["nats-0", "ok"]);

    await startTraffic();
    const busy = await until("live", (t) => msgsIn(t, "APP") > 0, "APP messages per second above zero");
    expect(cellsOf(busy, "APP")![1]).toBe("1");
    await traffic!.stop();
    const quiet = await until("live", (t) => msgsIn(t, "APP") === 0 && cellsOf(t, "APP")![1] === "0", "APP back to no messages and no connection");
    expect(quiet.match(/nats-infra monitor:/g)).toHaveLength(1);

    tmux("send-keys", "-t", "live", "q");
    await until("live", (t) => t.includes("monitor exited with"), "the monitor exiting");
    expect(screen("live")).toContain("monitor exited with 0");
  });

  test("Ctrl-C quits too, with exit 0", async () => {
    startMonitor("interrupt");
    await until("interrupt", (t) => cellsOf(t, "APP") !== undefined, "the APP line");
    tmux("send-keys", "-t", "interrupt", "C-c");
    await until("interrupt", (t) => t.includes("monitor exited with"), "the monitor exiting");
    expect(screen("interrupt")).toContain("monitor exited with 0");
  });
});

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
