// `nats-infra stop [NODE]`: a lame duck stop of one node's container or of all (in reverse node
// order, so the clients of each stopped node find the others still up): `docker stop -t <grace>`,
// where the container's stop signal SIGUSR2 moves the clients away before the server exits.
import { destroyGraceSeconds } from "../../components/natsContainerSpec";
import { containerNodes, selectNodes, stopContainers } from "../../ops/lifecycle";
import { atHost } from "../../ops/docker";
import { EXIT, printData, type Command } from "../command";
import { operate, type OperateContext } from "../operate";

const USAGE = `usage: npx nats-infra stop [NODE] --stack NAME [--json]

Stops the container of NODE (its server name or index) or, without NODE, every node's, in reverse
node order. docker stop sends the container's stop signal, SIGUSR2: the server goes into lame duck
mode, moves its clients to the other nodes over lameDuckDuration and exits; Docker kills it only
after lameDuckDuration + 15 s. The dev server is stopped with Ctrl-C where it runs.

Exit codes: 0 stopped (exit code 0), 1 a server had to be killed or a container is missing,
2 an unknown node or not a deployed stack, 3 Docker unreachable.`;

export const STOP_SPEC = { usage: USAGE, positionals: ["node"] };

export async function stop({ positionals, json, target, output }: OperateContext): Promise<number> {
  const all = containerNodes(target, target.stateDir !== undefined, "stop");
  const selected = selectNodes(all, positionals[0], target.source);
  const grace = destroyGraceSeconds(target.config!);
  const log = json ? undefined : (line: string) => output.out(`${line}\n`);
  const results = await stopContainers([...selected].reverse(), grace, log);
  printData(output, json, { target: target.source, graceSeconds: grace, nodes: results }, () =>
    results
      .map((r) => (r.outcome === "not running" ? `${r.node}${atHost(r.dockerHost)}: was not running` : `${r.node}${atHost(r.dockerHost)}: stopped in ${r.ms} ms, exit code ${r.exitCode}${r.exitCode === 0 ? "" : ` (killed: the lame duck did not end within ${grace} s)`}`))
      .join("\n"),
  );
  return results.every((r) => r.outcome === "not running" || r.exitCode === 0) ? EXIT.ok : EXIT.problem;
}

export const command: Command = {
  name: "stop",
  summary: "lame duck stop of a deployed node's container, or of all",
  usage: USAGE,
  run: operate(STOP_SPEC, stop),
};
