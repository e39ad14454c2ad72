// `nats-infra restart [NODE]`: restarts one node's container or every node's, one at a time
// through ops/rollingRestart.ts: a node goes down (lame duck) only while every node is healthy,
// and the next only once it is healthy again, so two nodes are never down at once.
import { destroyGraceSeconds } from "../../components/natsContainerSpec";
import { containerNodes, HEALTH_TIMEOUT_MS, restartContainers, selectNodes } from "../../ops/lifecycle";
import { formatRollingRestart } from "../../ops/rollingRestart";
import { EXIT, printData, type Command } from "../command";
import { operate, type OperateContext } from "../operate";

const USAGE = `usage: npx nats-infra restart [NODE] --stack NAME [--json]

Restarts the container of NODE (its server name or index) or, without NODE, every node's, one at a
time in node order: before a node goes down every node must answer /healthz with ok, and after
its restart (docker restart: a lame duck stop, then start) it must be healthy again before the
next, each wait up to ${HEALTH_TIMEOUT_MS / 1000} s. When a node's container is not running, nothing is restarted
(start it first).

Exit codes: 0 restarted and healthy, 1 a node not running, not healthy in time or a restart that
failed (the nodes restarted so far are named), 2 an unknown node or not a deployed stack,
3 Docker unreachable.`;

export const RESTART_SPEC = { usage: USAGE, positionals: ["node"] };

export async function restart({ positionals, json, target, output }: OperateContext): Promise<number> {
  const all = containerNodes(target, target.stateDir !== undefined, "restart");
  const selected = selectNodes(all, positionals[0], target.source);
  const log = json ? undefined : (line: string) => output.out(`${line}\n`);
  const report = await restartContainers(selected, all, destroyGraceSeconds(target.config!), { log });
  printData(output, json, { target: target.source, ...report }, () => formatRollingRestart(report));
  return EXIT.ok;
}

export const command: Command = {
  name: "restart",
  summary: "restart a deployed node's container, or all one at a time, each healthy before the next",
  usage: USAGE,
  run: operate(RESTART_SPEC, restart),
};
