// What the one-server and the 3-node eavesdropping tests (eavesdrop.server.test.ts,
// eavesdropCluster.server.test.ts) both do around their verdicts: the runs a stack of a mode
// holds, the deployment a describe block's runs share, and one run with its report logged.
import { afterAll, beforeAll } from "vitest";
import { describeReport, eavesdrop, type Deployment, type EavesdropReport, type Placement } from "./eavesdrop";
import { CLIENTS, type ClientName } from "./eavesdroppers";
import { eavesdroppersOf, type EavesdropperName, type InboxesMode } from "./eavesdropStack";

/** A started deployment, as support/deployments.ts starts one. */
export interface RunningDeployment {
  deployment: Deployment;
  stop: () => Promise<void>;
}

/** Every eavesdropper a stack of this mode can hold, each with every client in turn. */
export const runs = (mode: InboxesMode): { who: EavesdropperName; client: ClientName }[] =>
  eavesdroppersOf(mode).flatMap((who) => CLIENTS.map((client) => ({ who, client })));

/**
 * Called inside a describe block: starts the deployment once before its tests (starting servers
 * per run would multiply the file's time) and stops it after them. The returned function gives
 * the deployment to the tests, which run after beforeAll.
 */
export function deployedForBlock(start: () => Promise<RunningDeployment>, startTimeout: number): () => Deployment {
  let running: RunningDeployment | undefined;
  beforeAll(async () => {
    running = await start();
  }, startTimeout);
  afterAll(() => running?.stop());
  return () => running!.deployment;
}

/** One eavesdropping run; its report is logged so that a pass shows what was heard as well. */
export async function overhear(deployment: Deployment, who: EavesdropperName, client: ClientName, placement: Placement): Promise<EavesdropReport> {
  const report = await eavesdrop(deployment, who, client, placement);
  console.log(describeReport(report));
  return report;
}
