// The auth change every cluster engine test makes: a service added under steady clients, then
// `npm run up`. What must hold, on one host or across several: every node reloads (the same
// containers, the same server start times), no client disconnects or loses a message, and the
// new user logs in at every node.
import { connect } from "@nats-io/transport-node";
import { expect } from "vitest";
import { tail, type EngineStack } from "./engine";
import { accessFromOutputs, SteadyTraffic } from "./steadyTraffic";

export const ADDED_SERVICE = { name: "audit-service", publish: ["audit.>"], subscribe: ["audit.>"] };

export interface ClusterProbes {
  /** Each node's container id, on whichever host it runs. */
  containerIds(): string[];
  /** Each node's /varz start time. */
  serverStarts(): Promise<string[]>;
  nodes: number;
}

/** Adds ADDED_SERVICE to `stack` and deploys it under steady traffic; `label` names the case in the log. */
export async function expectServiceAddedByReload(stack: EngineStack, probes: ClusterProbes, label: string): Promise<void> {
  const ids = probes.containerIds();
  const starts = await probes.serverStarts();
  stack.setConfig({ ...stack.config, services: [...(stack.config.services as object[]), ADDED_SERVICE] });
  const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
  const up = await stack.npm("up", ["--yes"]);
  const report = await traffic.end();
  console.log(`engine: auth change ${label}: npm run up ${up.ms} ms; ${report.summary}`);
  expect(up.status, tail(up.stdout + up.stderr)).toBe(0);
  expect(probes.containerIds()).toEqual(ids);
  expect(await probes.serverStarts()).toEqual(starts);
  expect(report.lostAcked).toEqual([]);
  expect(report.coreMissed.every((missed) => missed === 0), report.summary).toBe(true);
  expect(Object.values(report.reconnects).every((n) => n === 0), report.summary).toBe(true);
  const added = (await stack.outputs()).credentials[ADDED_SERVICE.name];
  const urls = added.url.split(",");
  expect(urls).toHaveLength(probes.nodes);
  for (const url of urls) await (await connect({ servers: url, user: added.user, pass: added.password, inboxPrefix: added.inboxPrefix })).close();
  await stack.expectNoChanges();
}
