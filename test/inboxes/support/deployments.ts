// The eavesdropping stack on one server or on a 3-node cluster, its bucket and store created by
// the reconciler as on a deployment.
import { createDeclaredStreams } from "../../cluster/support/clusterStack";
import { startCluster, type RunningCluster } from "../../harness/natsCluster";
import { reconcileDeclared } from "../../harness/reconcileDeclared";
import { startNats, type RunningNats } from "../../harness/natsServer";
import type { Deployment } from "./eavesdrop";
import { eavesdropStack, type InboxesMode } from "./eavesdropStack";

export async function singleServer(mode: InboxesMode): Promise<{ deployment: Deployment; stop: () => Promise<void> }> {
  const nats: RunningNats = await startNats(eavesdropStack(mode));
  try {
    await reconcileDeclared(nats.config, nats.url, nats.passwords);
  } catch (error) {
    await nats.stop();
    throw error;
  }
  return { deployment: { mode, config: nats.config, passwords: nats.passwords, urls: [nats.url], monitorUrls: [nats.monitorUrl] }, stop: () => nats.stop() };
}

/** Three nodes; the bucket and the store are R3, so their replies can come from any node. */
export async function threeNodes(mode: InboxesMode): Promise<{ deployment: Deployment; stop: () => Promise<void> }> {
  const cluster: RunningCluster = await startCluster(eavesdropStack(mode, 3), 3);
  try {
    await createDeclaredStreams(cluster);
    // The R3 bucket and store just created: every node's full /healthz (their assets current)
    // before the first run, so no victim's first JetStream call waits on an election instead.
    await cluster.waitHealthy(60_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    deployment: { mode, config: cluster.config, passwords: cluster.passwords, urls: cluster.urlList, monitorUrls: cluster.nodes.map((n) => n.monitorUrl) },
    stop: () => cluster.stop(),
  };
}
