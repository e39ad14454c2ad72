// `nats-infra health`: every node's /healthz (JetStream current), one line a node; exit codes
// for scripts; `--wait 60s` waits until every node is healthy.
import { parseDuration } from "../../config/units";
import { checkHealth, describeHealth, type HealthAnswer } from "../../ops/health";
import { quorumLoss } from "../../ops/quorum";
import { hostColumn } from "./status";
import { UsageError } from "../args";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";

const USAGE = `usage: npx nats-infra health [--wait DURATION] [--json] [target]

Asks every node's /healthz, which is ok once the server runs and, with JetStream, its streams and
consumers are current. In a cluster, says so when fewer than a majority of the nodes answer
(JetStream then accepts no change and no message for a replicated stream). Exit codes: 0 every node healthy, 1 a node not healthy, 3 no node answers.

  --wait DURATION   wait until every node is healthy, up to DURATION (e.g. 60s); exit 1 if not by then`;

const POLL_MS = 500;

export const command: Command = {
  name: "health",
  summary: "every node's /healthz with JetStream; --wait until healthy; exit codes for scripts",
  usage: USAGE,
  run: operate({ usage: USAGE, strings: ["wait"] }, async ({ flags, json, target, output }) => {
    const waitMs = typeof flags.wait === "string" ? parseDuration(flags.wait) : 0;
    if (waitMs === undefined) throw new UsageError(`--wait ${flags.wait}: not a duration; use e.g. 30s or 2m`);
    const deadline = Date.now() + waitMs;
    let answers: HealthAnswer[];
    for (;;) {
      answers = await Promise.all(target.nodes.map((n) => checkHealth(n.monitorUrl)));
      if (answers.every((a) => a.ok) || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const rows = target.nodes.map((n, i) => ({
      node: n.name,
      ...(n.container?.dockerHost ? { dockerHost: n.container.dockerHost } : {}),
      monitor: n.monitorUrl,
      healthy: answers[i].ok,
      status: answers[i].status ?? null,
      detail: answers[i].detail,
    }));
    const quorum = quorumLoss(rows.map((r) => ({ name: r.node, answers: r.status !== null })));
    printData(output, json, { target: target.source, healthy: rows.every((r) => r.healthy), nodes: rows, ...(quorum ? { quorumLost: quorum } : {}) }, () => {
      const hosts = hostColumn(rows);
      const width = Math.max(...rows.map((r) => r.node.length));
      const hostWidth = Math.max(0, ...(hosts ?? []).map((h) => h.length));
      const lines = rows.map((r, i) => `${r.node.padEnd(width)}  ${hosts ? `${hosts[i].padEnd(hostWidth)}  ` : ""}${r.healthy ? "ok" : describeHealth(answers[i])}`);
      return [...lines, ...(quorum ? [quorum.message] : [])].join("\n");
    });
    if (rows.every((r) => r.healthy)) return EXIT.ok;
    return answers.every((a) => a.status === undefined) ? EXIT.unreachable : EXIT.problem;
  }),
};
