// `nats-infra monitor`: a live view in the terminal, redrawn every --interval: each account's
// messages and bytes per second in and out, connections, slow consumers, and each node's health
// and JetStream use. Plain ANSI (clear screen, cursor home), no terminal library, and only on a
// terminal: to a pipe or a file it writes one plain report after the other, which a log or `tee`
// can keep. `q` or Ctrl-C quits; `--once` draws one frame (two samples an interval apart, so it has
// rates) and exits.
import { parseDuration } from "../../config/units";
import { accountRates, collectStatus, noneAnswered, type AccountRates, type Status } from "../../ops/status";
import { processOutput, UsageError } from "../args";
import { EXIT, type Command } from "../command";
import { operate } from "../operate";
import { formatBytes, nodeCells, nodeHeader, table } from "./status";

const USAGE = `usage: npx nats-infra monitor [--interval 2s] [--once] [--json] [target]

A live view of the deployment, redrawn every interval from the nodes' monitoring endpoints:
messages and bytes per second in and out per account (in: published by its clients, out:
delivered to them), connections, slow consumers, and each node's health and JetStream use.
q or Ctrl-C quits. For Prometheus and Grafana, the view ends with the Surveyor URL when the
stack runs Surveyor. Without a terminal (output to a pipe or a file): one plain report per
interval, one after the other, no screen drawing. With --json: one JSON object per sample (rates
and the whole status).

  --interval DURATION   time between samples (default 2s, at least 200ms)
  --once                print one frame (sampled twice, an interval apart) and exit: 0, or 3 when no node answers`;

const DEFAULT_INTERVAL = "2s";
const MIN_INTERVAL_MS = 200;
/** Clear the screen and move the cursor home; hide the cursor while drawing, show it again on the way out. */
const CLEAR = "\x1b[2J\x1b[H";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

export const command: Command = {
  name: "monitor",
  summary: "live view: messages and bytes per second per account, connections, JetStream use; q quits",
  usage: USAGE,
  run: operate({ usage: USAGE, strings: ["interval"], booleans: ["once"] }, async ({ flags, json, target, output }) => {
    const intervalText = typeof flags.interval === "string" ? flags.interval : DEFAULT_INTERVAL;
    const intervalMs = parseDuration(intervalText);
    if (intervalMs === undefined || intervalMs < MIN_INTERVAL_MS) throw new UsageError(`--interval ${intervalText}: give a duration of at least ${MIN_INTERVAL_MS}ms, e.g. 2s`);
    // Docker is not asked every frame: container state is `status`'s business.
    const sample = () => collectStatus(target, { containers: false });
    // Escape codes only where a terminal interprets them: a buffer (tests) or a pipe gets plain text.
    const redraw = !json && output === processOutput && process.stdout.isTTY === true;
    /** `live`: redrawn over the previous frame on a terminal, else the next report (not so with --once). */
    const draw = (before: Status | undefined, after: Status, live: boolean) => {
      const rates = before ? accountRates(before, after) : undefined;
      if (json) return output.out(`${JSON.stringify({ rates, status: after })}\n`);
      const frame = formatFrame(after, rates, intervalText, live);
      output.out(!live ? `${frame}\n` : redraw ? `${CLEAR}${frame}\n` : `${frame}\n\n`);
    };

    if (flags.once) {
      const before = await sample();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const after = await sample();
      draw(before, after, false);
      return noneAnswered(after) ? EXIT.unreachable : EXIT.ok;
    }

    const keys = quitKeys();
    if (redraw) output.out(HIDE_CURSOR);
    try {
      let before: Status | undefined;
      for (;;) {
        const started = Date.now();
        const after = await sample();
        draw(before, after, true);
        before = after;
        if (await keys.within(Math.max(0, intervalMs - (Date.now() - started)))) return EXIT.ok;
      }
    } finally {
      keys.dispose();
      if (redraw) output.out(SHOW_CURSOR);
    }
  }),
};

/** `live`: the view is redrawn and waits for keys (not so with --once). */
export function formatFrame(status: Status, rates: AccountRates[] | undefined, interval: string, live: boolean): string {
  const time = status.at.replace(/^.*T/, "").replace(/\.\d+Z$/, "Z");
  const lines = [live ? `nats-infra monitor: ${status.target}, every ${interval}, ${time}    (q or Ctrl-C quits)` : `nats-infra monitor: ${status.target}, rates over ${interval}, ${time}`, ""];
  if (noneAnswered(status)) lines.push("no node answers; trying again every interval", "");
  lines.push(accountRows(status, rates), "", nodeRows(status));
  if (status.surveyorUrl) lines.push("", `Prometheus metrics (NATS Surveyor, for Grafana): ${status.surveyorUrl}`);
  if (status.problems.length) lines.push("", "problems:", ...status.problems.map((p) => `  ${p}`));
  return lines.join("\n");
}

function accountRows(status: Status, rates: AccountRates[] | undefined): string {
  const rateOf = (account: string) => rates?.find((r) => r.account === account);
  const perSecond = (value: number | undefined, bytes = false) => (value === undefined ? "-" : bytes ? `${formatBytes(value)}/s` : `${value.toFixed(1)}/s`);
  const rows = status.accounts.map((a) => {
    const r = rateOf(a.name);
    return [a.name, String(a.connections), perSecond(r?.inMsgs), perSecond(r?.outMsgs), perSecond(r?.inBytes, true), perSecond(r?.outBytes, true), String(a.slowConsumers)];
  });
  return table(["account", "conns", "msgs in", "msgs out", "bytes in", "bytes out", "slow"], rows);
}

function nodeRows(status: Status): string {
  const rows = status.nodes.map((node) => {
    const s = node.server;
    const js = s?.jetstream;
    const health = node.health.ok ? "ok" : node.health.status === undefined ? "no answer" : String(node.health.status);
    if (!s) return [...nodeCells(node, status.nodes), health, "-", "-", "-", "-"];
    return [
      ...nodeCells(node, status.nodes),
      health,
      String(s.connections),
      String(s.slowConsumers),
      js ? `${formatBytes(js.memory)} / ${formatBytes(js.maxMemory)}` : "off",
      js ? `${formatBytes(js.storage)} / ${formatBytes(js.maxStorage)}` : "off",
    ];
  });
  return table([...nodeHeader(status.nodes), "health", "conns", "slow", "JetStream memory", "JetStream storage"], rows);
}

/**
 * `within(ms)` answers true as soon as q or Ctrl-C comes, false when the time is up. On a terminal, stdin goes to raw mode so a single key press
 * arrives (Ctrl-C then comes as a byte, not a signal); elsewhere SIGINT and SIGTERM quit, and
 * a line "q" on a pipe. dispose() gives the terminal back as it was and lets the process exit.
 */
function quitKeys(): { within(ms: number): Promise<boolean>; dispose(): void } {
  const stdin = process.stdin;
  let resolve!: () => void;
  const quit = new Promise<void>((r) => (resolve = r));
  const onData = (data: Buffer) => {
    const text = data.toString();
    if (/^[qQ]/.test(text) || text.includes("\u0003")) resolve();
  };
  const onSignal = () => resolve();
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  stdin.on("data", onData);
  stdin.resume();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    within(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
      // The timer is cleared on quit, so nothing keeps the process alive after the last frame.
      return Promise.race([quit.then(() => true), timeUp]).finally(() => clearTimeout(timer));
    },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      stdin.off("data", onData);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
