// `nats-infra start [NODE]`: `docker start` of one node's container or of all, then waits until
// each started server answers its /healthz with ok (JetStream current).
import { containerNodes, HEALTH_TIMEOUT_MS, selectNodes, startContainers } from "../../ops/lifecycle";
import { atHost } from "../../ops/docker";
import { EXIT, printData, type Command } from "../command";
import { operate, type OperateContext } from "../operate";

const USAGE = `usage: npx nats-infra start [NODE] --stack NAME [--json]

Starts the container of NODE (its server name or index) or, without NODE, every node's, then waits
until each of them is healthy (/healthz ok, its JetStream streams current), up to ${HEALTH_TIMEOUT_MS / 1000} s.
The dev server is started with npx nats-infra dev.

Exit codes: 0 started and healthy, 1 not healthy in time or a container is missing, 2 an unknown
node or not a deployed stack, 3 Docker unreachable.`;

export const START_SPEC = { usage: USAGE, positionals: ["node"] };

export async function start({ positionals, json, target, output }: OperateContext): Promise<number> {
  const all = containerNodes(target, target.stateDir !== undefined, "start");
  const selected = selectNodes(all, positionals[0], target.source);
  const log = json ? undefined : (line: string) => output.out(`${line}\n`);
  const results = await startContainers(selected, { log });
  printData(output, json, { target: target.source, healthy: true, nodes: results }, () => results.map((r) => `${r.node}${atHost(r.dockerHost)}: ${r.outcome}, healthy`).join("\n"));
  return EXIT.ok;
}

export const command: Command = {
  name: "start",
  summary: "start a deployed node's container, or all, and wait until healthy",
  usage: USAGE,
  run: operate(START_SPEC, start),
};
