// The observer credential (config/observer.ts) on the real nats-server, through the real natscli
// 0.5.0 with the context nats-box gets: every operator check and report passes, in each account
// with JetStream, and nothing that changes state goes through. The stack is the multi-account
// fixture: streams in two accounts (ORDERS may be deleted by its admin, so a refusal here is the
// observer's own), services behind an import, and an account without JetStream.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { readStackFile } from "../../config/load";
import { OBSERVER_USER, observerContext } from "../../config/observer";
import { jetstreamAdminUser } from "../../config/users";
import { configLoadTime, startNats, type RunningNats } from "../harness/natsServer";
import { reconcileDeclared } from "../harness/reconcileDeclared";
import { REPO_ROOT } from "../harness/tools";
import { observerCli, refusedPublish, SERVER_REPORTS, type ObserverCli } from "../cluster/support/observerCli";

const ACCOUNTS = readStackFile(path.join(REPO_ROOT, "test", "fixtures", "Pulumi.accounts.yaml"));
const SERVER_NAME = "nats-a";
const VIOLATION = /Permissions Violation/;

let nats: RunningNats;
let cli: ObserverCli;
/** A service client: the kick request must leave it connected. */
let shop: NatsConnection;

beforeAll(async () => {
  nats = await startNats(ACCOUNTS);
  try {
    await reconcileDeclared(nats.config, nats.url, nats.passwords);
    shop = await connect({ servers: nats.url, user: "shop", pass: nats.passwords.shop, reconnect: false });
    for (let i = 0; i < 3; i++) shop.publish("orders.new", `order ${i}`);
    await shop.flush();
    cli = observerCli(observerContext(nats.config, nats.url, nats.passwords[OBSERVER_USER]));
  } catch (error) {
    await nats.stop();
    throw error;
  }
}, 60_000);

afterAll(async () => {
  cli?.dispose();
  await shop?.close();
  await nats?.stop();
});

/** The stream's message count and consumers, as its own account's admin sees them. */
async function ordersState(): Promise<{ messages: number; consumers: string[] }> {
  const admin = await connect({ servers: nats.url, ...nats.login(jetstreamAdminUser("APP")) });
  try {
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info("ORDERS");
    const consumers = (await jsm.consumers.list("ORDERS").next()).map((c) => c.name);
    return { messages: info.state.messages, consumers };
  } finally {
    await admin.close();
  }
}

describe("the observer runs natscli's operator checks on a single server", () => {
  test("nats server list and every nats server report", async () => {
    const list = await cli.run(["server", "list"]);
    expect(list.output).not.toMatch(VIOLATION);
    expect(list.status, list.output).toBe(0);
    expect(list.output).toContain(SERVER_NAME);
    const reports = await Promise.all(SERVER_REPORTS.map((args) => cli.run(args)));
    reports.forEach((report, i) => {
      expect(report.output, SERVER_REPORTS[i].join(" ")).not.toMatch(VIOLATION);
      expect(report.status, `${SERVER_REPORTS[i].join(" ")}:\n${report.output}`).toBe(0);
    });
    // The JetStream report covers every account, from the system account.
    expect(reports[SERVER_REPORTS.findIndex((a) => a.includes("jetstream"))].output).toMatch(/Streams[\s\S]*\b2\b/);
  });

  test("nats server check connection, server, jetstream, stream and consumer: OK, in each JetStream account", async () => {
    const checks: [string[], RegExp][] = [
      [["server", "check", "connection"], /^OK Connection/],
      [["server", "check", "server", "--name", SERVER_NAME], new RegExp(`^OK ${SERVER_NAME}`)],
      // The default account's JetStream, through the context's jetstream_api_prefix.
      [["server", "check", "jetstream"], /^OK JetStream .*streams=1 /],
      [["server", "check", "stream", "--stream", "ORDERS", "--msgs-critical", "2"], /^OK ORDERS .*messages=3;/],
      [["server", "check", "consumer", "--stream", "ORDERS", "--consumer", "packer"], /^OK ORDERS_packer/],
      // Another account's, by its prefix.
      [["--js-api-prefix", "jsapi.BILLING", "server", "check", "jetstream"], /^OK JetStream .*streams=1 /],
      [["--js-api-prefix", "jsapi.BILLING", "server", "check", "stream", "--stream", "INVOICES"], /^OK INVOICES/],
      // nats-box's troubleshooting listings.
      [["stream", "ls", "--names"], /^ORDERS$/m],
      [["consumer", "ls", "ORDERS", "--names"], /^packer$/m],
      [["stream", "info", "ORDERS"], /Messages: 3\b/],
      [["consumer", "info", "ORDERS", "packer"], /Information for Consumer ORDERS > packer/],
    ];
    const results = await Promise.all(checks.map(([args]) => cli.run(args)));
    results.forEach((result, i) => {
      const [args, expected] = checks[i];
      expect(result.output, args.join(" ")).not.toMatch(VIOLATION);
      expect(result.status, `${args.join(" ")}:\n${result.output}`).toBe(0);
      expect(result.output, args.join(" ")).toMatch(expected);
    });
  });

  test("nats server check meta is refused by no permission; a single server simply has no meta cluster", async () => {
    const meta = await cli.run(["server", "check", "meta", "--expect", "1", "--lag-critical", "100", "--seen-critical", "10s"]);
    expect(meta.output).not.toMatch(VIOLATION);
    expect(meta.output).toMatch(/^CRITICAL JetStream Meta Cluster Crit:no cluster information/);
  });
});

describe("the observer changes nothing", () => {
  test("create, delete, purge, consumer delete, publish to a service or stream subject, reload, lame duck and kick are refused", async () => {
    const serverId = ((await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { server_id: string }).server_id;
    const loaded = await configLoadTime(nats.monitorUrl);
    const before = await ordersState();
    expect(before.messages).toBe(3);

    const attempts: [string[], string][] = [
      [["stream", "add", "ZQ", "--subjects", "zq.>", "--defaults"], "jsapi.APP.STREAM.CREATE.ZQ"],
      // The system account's own JetStream API, without the prefix: refused too.
      [["--js-api-prefix", "$JS.API", "stream", "add", "ZQ", "--subjects", "zq.>", "--defaults"], "$JS.API.STREAM.CREATE.ZQ"],
      [["stream", "edit", "ORDERS", "--max-msgs", "1", "--force"], "jsapi.APP.STREAM.UPDATE.ORDERS"],
      [["stream", "rm", "ORDERS", "--force"], "jsapi.APP.STREAM.DELETE.ORDERS"],
      [["stream", "purge", "ORDERS", "--force"], "jsapi.APP.STREAM.PURGE.ORDERS"],
      [["stream", "rmm", "ORDERS", "1", "--force"], "jsapi.APP.STREAM.MSG.DELETE.ORDERS"],
      [["consumer", "rm", "ORDERS", "packer", "--force"], "jsapi.APP.CONSUMER.DELETE.ORDERS.packer"],
      [["pub", "billing.charge", "x"], "billing.charge"],
      [["pub", "orders.new", "x"], "orders.new"],
      [["request", `$SYS.REQ.SERVER.${serverId}.RELOAD`, ""], `$SYS.REQ.SERVER.${serverId}.RELOAD`],
      [["request", `$SYS.REQ.SERVER.${serverId}.LDM`, ""], `$SYS.REQ.SERVER.${serverId}.LDM`],
      [["server", "request", "kick", String(shop.info!.client_id), serverId], `$SYS.REQ.SERVER.${serverId}.KICK`],
    ];
    const results = await Promise.all(attempts.map(([args]) => cli.run(args)));
    results.forEach((result, i) => {
      const [args, subject] = attempts[i];
      expect(result.output, args.join(" ")).toContain(refusedPublish(subject));
    });

    // And the server agrees: nothing changed.
    expect(await ordersState()).toEqual(before);
    expect(await configLoadTime(nats.monitorUrl)).toBe(loaded);
    expect(shop.isClosed()).toBe(false);
    await shop.flush();
    const admin = await connect({ servers: nats.url, ...nats.login(jetstreamAdminUser("APP")) });
    try {
      const streams = (await (await jetstreamManager(admin)).streams.list().next()).map((s) => s.config.name);
      expect(streams).toEqual(["ORDERS"]);
    } finally {
      await admin.close();
    }
  });
});
