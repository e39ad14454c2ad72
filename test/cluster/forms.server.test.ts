// Three real nats-servers rendered as the product renders a cluster: they form one cluster.
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { DEV_STACK_FIXTURE } from "../harness/tools";

let cluster: RunningCluster;
beforeAll(async () => {
  cluster = await startCluster(readStackFile(DEV_STACK_FIXTURE), 3);
});
afterAll(() => cluster?.stop());

test("every node has routes to the other two, by server name, and reports /healthz ok", async () => {
  for (const node of cluster.nodes) {
    const routez = (await (await fetch(`${node.monitorUrl}/routez`)).json()) as { server_name: string; routes: { remote_name: string }[] };
    expect(routez.server_name).toBe(node.serverName);
    const peers = new Set(routez.routes.map((r) => r.remote_name));
    expect([...peers].sort()).toEqual(cluster.nodes.filter((n) => n !== node).map((n) => n.serverName).sort());
    expect((await fetch(`${node.monitorUrl}/healthz`)).ok).toBe(true);
  }
  expect(cluster.nodes.map((n) => n.serverName)).toEqual(["nats-0", "nats-1", "nats-2"]);
});
