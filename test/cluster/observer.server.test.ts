// natscli's operator checks on a real 3-node cluster with the observer credential, from the
// natscli context the component uploads into nats-box for a 3-node stack (taken under Pulumi
// mocks; only the in-Docker server URLs and the generated password are swapped for the local
// ones): every node listed and checked, the meta cluster and an R3 stream healthy, and nothing
// that moves a leader, reloads a node or kicks a client goes through.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect } from "@nats-io/transport-node";
import { OBSERVER_USER } from "../../config/observer";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { configLoadTime } from "../harness/natsServer";
import { runProgram, unwrapSecrets } from "../harness/pulumiMocks";
import { clusterStack, CONSUMER, createDeclaredStreams, ORDER_SERVICE, STREAM, streamLeader } from "./support/clusterStack";
import { observerCli, refusedPublish, SERVER_REPORTS, type ObserverCli } from "./support/observerCli";

const NODES = 3;
const STACK = clusterStack(3);
const VIOLATION = /Permissions Violation/;

let cluster: RunningCluster;
let cli: ObserverCli;
let declared: Record<string, string>;

beforeAll(async () => {
  const run = await runProgram({ ...STACK, cluster: { nodes: NODES }, docker: { natsBox: { enabled: true } } });
  declared = JSON.parse((unwrapSecrets(run.byName("nats-nats-box").inputs) as { uploads: { content: string }[] }).uploads[0].content);
  cluster = await startCluster(STACK, NODES);
  try {
    await createDeclaredStreams(cluster);
    const nc = await connect({ servers: cluster.urlList, ...cluster.login(ORDER_SERVICE) });
    for (let i = 0; i < 5; i++) nc.publish("orders.new", `${i}`);
    await nc.flush();
    await nc.close();
    cli = observerCli({ ...declared, url: cluster.urls, password: cluster.passwords[OBSERVER_USER] });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}, 180_000);

afterAll(async () => {
  cli?.dispose();
  await cluster?.stop();
});

/** Each node's meta leader, as its own monitoring endpoint reports it. */
async function metaLeaders(): Promise<string[]> {
  return Promise.all(
    cluster.nodes.map(async (n) => ((await (await fetch(`${n.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader ?? "none"),
  );
}

test("nats-box's context is the observer's, with its inbox prefix and the default account's JetStream API", () => {
  expect(declared.url.split(",")).toHaveLength(NODES);
  expect(declared).toEqual({ url: declared.url, user: OBSERVER_USER, password: expect.any(String), inbox_prefix: "_INBOX_observer", jetstream_api_prefix: "jsapi.APP" });
});

describe("the observer runs natscli's operator checks on a 3-node cluster", () => {
  test("nats server list shows every node; every nats server report succeeds", async () => {
    const list = await cli.run(["server", "list", String(NODES)]);
    expect(list.output).not.toMatch(VIOLATION);
    expect(list.status, list.output).toBe(0);
    for (const node of cluster.nodes) expect(list.output).toContain(node.serverName);
    const reports = await Promise.all(SERVER_REPORTS.map((args) => cli.run(args)));
    reports.forEach((report, i) => {
      expect(report.output, SERVER_REPORTS[i].join(" ")).not.toMatch(VIOLATION);
      expect(report.status, `${SERVER_REPORTS[i].join(" ")}:\n${report.output}`).toBe(0);
    });
    // Routes: each node reports its routes to the other two.
    const routes = reports[SERVER_REPORTS.findIndex((a) => a.includes("routes"))].output;
    for (const node of cluster.nodes) expect(routes).toContain(node.serverName);
  });

  test("nats server check meta, server (each node), connection, jetstream, stream and consumer: OK", async () => {
    const checks: [string[], RegExp][] = [
      [["server", "check", "meta", "--expect", String(NODES), "--lag-critical", "100", "--seen-critical", "10s"], /^OK JetStream Meta Cluster/],
      ...cluster.nodes.map((n): [string[], RegExp] => [["server", "check", "server", "--name", n.serverName], new RegExp(`^OK ${n.serverName}`)]),
      [["server", "check", "connection"], /^OK Connection/],
      [["server", "check", "jetstream"], /^OK JetStream .*replicas_ok=2 /],
      [["server", "check", "stream", "--stream", STREAM, "--peer-expect", "3", "--peer-lag-critical", "100", "--peer-seen-critical", "10s"], new RegExp(`^OK ${STREAM}`)],
      [["server", "check", "consumer", "--stream", STREAM, "--consumer", CONSUMER], new RegExp(`^OK ${STREAM}_${CONSUMER}`)],
    ];
    const results = await Promise.all(checks.map(([args]) => cli.run(args)));
    results.forEach((result, i) => {
      const [args, expected] = checks[i];
      expect(result.output, args.join(" ")).not.toMatch(VIOLATION);
      expect(result.status, `${args.join(" ")}:\n${result.output}`).toBe(0);
      expect(result.output, args.join(" ")).toMatch(expected);
    });
  });
});

describe("the observer changes nothing in the cluster", () => {
  test("meta and stream leader step-down, peer removal, stream delete, reload and kick on another node are refused", async () => {
    const varz = (await (await fetch(`${cluster.nodes[2].monitorUrl}/varz`)).json()) as { server_id: string };
    const farNode = varz.server_id;
    const loaded = await Promise.all(cluster.nodes.map((n) => configLoadTime(n.monitorUrl)));
    const metaBefore = await metaLeaders();
    const streamBefore = await streamLeader(cluster);

    const attempts: [string[], string][] = [
      [["request", "$JS.API.META.LEADER.STEPDOWN", "{}"], "$JS.API.META.LEADER.STEPDOWN"],
      [["request", "$JS.API.SERVER.REMOVE", JSON.stringify({ peer: cluster.nodes[2].serverName })], "$JS.API.SERVER.REMOVE"],
      [["stream", "cluster", "step-down", STREAM, "--force"], `jsapi.APP.STREAM.LEADER.STEPDOWN.${STREAM}`],
      [["stream", "rm", STREAM, "--force"], `jsapi.APP.STREAM.DELETE.${STREAM}`],
      [["request", `$SYS.REQ.SERVER.${farNode}.RELOAD`, ""], `$SYS.REQ.SERVER.${farNode}.RELOAD`],
      [["server", "request", "kick", "1", farNode], `$SYS.REQ.SERVER.${farNode}.KICK`],
    ];
    const results = await Promise.all(attempts.map(([args]) => cli.run(args)));
    results.forEach((result, i) => {
      const [args, subject] = attempts[i];
      expect(result.output, args.join(" ")).toContain(refusedPublish(subject));
    });

    expect(await metaLeaders()).toEqual(metaBefore);
    expect(await streamLeader(cluster)).toBe(streamBefore);
    expect(await Promise.all(cluster.nodes.map((n) => configLoadTime(n.monitorUrl)))).toEqual(loaded);
    const check = await cli.run(["server", "check", "stream", "--stream", STREAM, "--peer-expect", "3", "--msgs-critical", "4"]);
    expect(check.output).toMatch(new RegExp(`^OK ${STREAM} .*messages=5;`));
  });
});
