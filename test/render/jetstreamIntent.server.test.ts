// JetStream intent (config/jetstreamIntent.ts) on the real nats-server with the real clients:
// every operation an intent grants works end to end (@nats-io/jetstream, and nats-py for one
// service), and the operations next to it are refused by the server. The refusals are the
// server's own verdicts (PermissionProbe: the violation on the user's connection and the
// observer's view agree), not a reading of our permission code.
//
// The stack has private reply inboxes: each client connects with its service's inbox prefix
// (nats.js inboxPrefix, nats-py inbox_prefix), and one left on the default `_INBOX` gets no answer.
import { privatePrefix, SHARED_INBOX_REFUSED } from "../harness/intentStack";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { api, checkStackConfig, startProbed, VIOLATION, without, type ProbedNats } from "../harness/permissionProbe";
import { runNatsPy } from "../harness/tools";

const ORDERS = "ORDERS";
const STACK: StackConfigInput = {
  inboxes: "private",
  services: [
    { name: "orders-api", jetstream: { publish: [ORDERS] } },
    { name: "fulfilment", jetstream: { consume: [{ stream: ORDERS, consumer: "fulfilment" }] } },
    { name: "audit", jetstream: { consume: [{ stream: ORDERS, consumer: "audit" }] } },
    { name: "reporting", jetstream: { read: [ORDERS] } },
    { name: "billing-py", jetstream: { publish: [ORDERS], consume: [{ stream: ORDERS, consumer: "billing" }] } },
    { name: "bystander", publish: ["misc.>"], subscribe: ["misc.>"] },
  ],
  streams: [
    {
      name: ORDERS,
      subjects: ["orders.>"],
      consumers: [
        { name: "fulfilment", filterSubjects: ["orders.created"] },
        { name: "billing", filterSubjects: ["orders.billed"] },
        { name: "audit", type: "push", deliverSubject: "deliver.audit", filterSubjects: ["orders.audited"] },
        // Declared, and nobody's intent: no service may read through it.
        { name: "spare" },
      ],
    },
  ],
};
const raw = STACK as Record<string, unknown>;

let stack: ProbedNats;

beforeAll(async () => {
  expect(checkStackConfig(raw).ok).toBe(true);
  // The reconciler's user creates the stream and the declared consumers, as on a deployment.
  stack = await startProbed(raw);
}, 30_000);

afterAll(async () => {
  await stack?.close();
});


/** nats.js as `user` with its inbox prefix (null: the client's default `_INBOX`). */
const as = (user: string, inboxPrefix: string | null = privatePrefix(user)): Promise<NatsConnection> => stack.as(user, inboxPrefix);

describe("granted: every operation an intent names works with the real clients", () => {
  test("publish intent: orders-api publishes to the stream's subjects and gets the stream's ack", async () => {
    const js = jetstream(await as("orders-api"));
    const ack = await js.publish("orders.created", "order 1");
    expect(ack.stream).toBe(ORDERS);
    expect(ack.seq).toBeGreaterThan(0);
    // Deeper subjects of the stream too: the grant is the stream's subject "orders.>".
    expect((await js.publish("orders.eu.created", "order 2")).stream).toBe(ORDERS);
  });

  test("pull intent: fulfilment fetches from its durable, acks, and consumes with heartbeats", async () => {
    const publisher = jetstream(await as("orders-api"));
    const js = jetstream(await as("fulfilment"));
    await publisher.publish("orders.created", "for fetch");
    const consumer = await js.consumers.get(ORDERS, "fulfilment");

    const batch = await consumer.fetch({ max_messages: 10, expires: 1_000 });
    const fetched: string[] = [];
    for await (const msg of batch) {
      fetched.push(msg.string());
      await msg.ackAck();
    }
    expect(fetched).toContain("for fetch");

    // consume() keeps pull requests open with idle heartbeats (status messages on its inbox).
    const messages = await consumer.consume({ max_messages: 5, idle_heartbeat: 500, expires: 2_000 });
    await publisher.publish("orders.created", "for consume");
    const consumed = await firstMatching(messages, (m) => m.string() === "for consume");
    await consumed.ackAck();
    await messages.close();

    const info = await consumer.info();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  test("push intent: audit receives on the consumer's deliver subject and acks", async () => {
    const publisher = jetstream(await as("orders-api"));
    const js = jetstream(await as("audit"));
    const consumer = await js.consumers.getPushConsumer(ORDERS, "audit");
    const messages = await consumer.consume();
    // The probe's observer also listens on ">", so earlier deliveries may have gone to it; this
    // message is published after audit subscribed, so audit's subscription receives it.
    await publisher.publish("orders.audited", "audit me");
    const msg = await firstMatching(messages, (m) => m.string() === "audit me");
    expect(msg.subject).toBe("orders.audited");
    expect(await msg.ackAck()).toBe(true);
    await messages.close();
  });

  test("read intent: reporting reads the stream's state and single messages, without a consumer", async () => {
    const ack = await jetstream(await as("orders-api")).publish("orders.reported", "report me");
    const js = jetstream(await as("reporting"));
    const stream = await js.streams.get(ORDERS);
    expect((await stream.info()).state.last_seq).toBeGreaterThanOrEqual(ack.seq);
    expect((await stream.getMessage({ seq: ack.seq }))?.string()).toBe("report me");
    expect((await stream.getMessage({ last_by_subj: "orders.reported" }))?.string()).toBe("report me");
  });

  test("nats-py: billing-py publishes with an ack, pulls from its durable and acks", async () => {
    const stdout = await runNatsPy(BILLING_PY, { NATS_URL: stack.nats.url, NATS_PASSWORD: stack.nats.passwords["billing-py"] });
    expect(stdout.trim().split("\n")).toEqual(["ack ORDERS", "got orders.billed invoice 1", "acked", "pending 0"]);
  }, 30_000);
});

// nats-py 2.16: publish is a request to the subject; pull_subscribe with durable and stream asks
// CONSUMER.INFO and pulls with CONSUMER.MSG.NEXT; ack_sync is a request to the $JS.ACK subject.
const BILLING_PY = `
import asyncio, os, nats

async def main():
    nc = await nats.connect(os.environ["NATS_URL"], user="billing-py", password=os.environ["NATS_PASSWORD"], inbox_prefix="${privatePrefix("billing-py")}")
    js = nc.jetstream()
    ack = await js.publish("orders.billed", b"invoice 1")
    print("ack", ack.stream)
    sub = await js.pull_subscribe("orders.billed", durable="billing", stream="ORDERS")
    [msg] = await sub.fetch(1, timeout=5)
    print("got", msg.subject, msg.data.decode())
    await msg.ack_sync()
    print("acked")
    info = await sub.consumer_info()
    print("pending", info.num_ack_pending)
    await nc.close()

asyncio.run(main())
`;

/**
 * The neighbours of each grant, as raw API subjects: the server must refuse each one. Together
 * with the flows above this is the matrix: rows are services, and every JetStream operation on
 * ORDERS is either exercised above as granted or listed here as refused.
 */
const STREAM_ADMIN = [
  api("INFO"),
  api("STREAM.NAMES"),
  api("STREAM.LIST"),
  api(`STREAM.CREATE.${ORDERS}`),
  api(`STREAM.UPDATE.${ORDERS}`),
  api(`STREAM.PURGE.${ORDERS}`),
  api(`STREAM.DELETE.${ORDERS}`),
  api(`STREAM.MSG.DELETE.${ORDERS}`),
  api(`STREAM.SNAPSHOT.${ORDERS}`),
  api(`CONSUMER.NAMES.${ORDERS}`),
  api(`CONSUMER.LIST.${ORDERS}`),
  api(`CONSUMER.CREATE.${ORDERS}`),
  api(`CONSUMER.CREATE.${ORDERS}.mine`),
  api(`CONSUMER.CREATE.${ORDERS}.mine.orders.created`),
  api(`CONSUMER.DURABLE.CREATE.${ORDERS}.mine`),
  api(`DIRECT.GET.${ORDERS}`),
];
/** Everything that uses durable `c`: its info, pulls, acks, and creating (updating) or deleting it. */
const durable = (c: string) => [
  api(`CONSUMER.INFO.${ORDERS}.${c}`),
  api(`CONSUMER.MSG.NEXT.${ORDERS}.${c}`),
  `$JS.ACK.${ORDERS}.${c}.1.1.1.1.0`,
  api(`CONSUMER.CREATE.${ORDERS}.${c}`),
  api(`CONSUMER.DURABLE.CREATE.${ORDERS}.${c}`),
  api(`CONSUMER.DELETE.${ORDERS}.${c}`),
];
const usesOwn = (c: string) => [api(`CONSUMER.INFO.${ORDERS}.${c}`), api(`CONSUMER.MSG.NEXT.${ORDERS}.${c}`), `$JS.ACK.${ORDERS}.${c}.1.1.1.1.0`];
const READ = [api(`STREAM.INFO.${ORDERS}`), api(`STREAM.MSG.GET.${ORDERS}`)];
const ALL_DURABLES = ["fulfilment", "billing", "audit", "spare"].flatMap(durable);

const REFUSED: Record<string, string[]> = {
  // A publisher cannot purge or delete the stream, create consumers, read through any durable, or read the stream.
  "orders-api": [...STREAM_ADMIN, ...READ, ...ALL_DURABLES, "misc.x", "deliver.audit"],
  // A consumer of one durable cannot read another, create its own, change or delete its durable, or publish.
  fulfilment: [...STREAM_ADMIN, ...READ, ...without(ALL_DURABLES, usesOwn("fulfilment")), "orders.created", "orders.x"],
  // A push consumer has no pull: CONSUMER.MSG.NEXT of its own durable is refused too.
  audit: [...STREAM_ADMIN, ...READ, ...without(ALL_DURABLES, [api(`CONSUMER.INFO.${ORDERS}.audit`), `$JS.ACK.${ORDERS}.audit.1.1.1.1.0`]), "orders.audited"],
  // Reading the stream is not consuming it, publishing to it, or changing it.
  reporting: [...STREAM_ADMIN, ...ALL_DURABLES, "orders.x"],
  "billing-py": [...STREAM_ADMIN, ...READ, ...without(ALL_DURABLES, usesOwn("billing"))],
  // A service without intent sees nothing of JetStream.
  bystander: [...STREAM_ADMIN, ...READ, ...ALL_DURABLES, "orders.created", "orders.x"],
};

describe("refused: the neighbouring operations of each grant", () => {
  test.each(Object.keys(REFUSED))("%s may publish none of its neighbouring JetStream subjects", async (user) => {
    const verdicts = await stack.probe.publish(user, REFUSED[user]);
    expect(verdicts.filter((v) => v.allowed)).toEqual([]);
    expect(verdicts).toHaveLength(REFUSED[user].length);
  });

  test("only audit may subscribe to the push consumer's deliver subject", async () => {
    for (const user of ["orders-api", "fulfilment", "reporting", "billing-py", "bystander"]) {
      const [verdict] = await stack.probe.subscribe(user, [{ pattern: "deliver.audit", subject: "deliver.audit" }]);
      expect({ user, ...verdict }).toMatchObject({ user, rejected: true, received: false });
    }
    const [granted] = await stack.probe.subscribe("audit", [{ pattern: "deliver.audit", subject: "deliver.audit" }]);
    expect(granted).toMatchObject({ rejected: false, received: true });
    // No stream subject reaches a service by plain subscription either: intent is not a subscribe to orders.>.
    const [orders] = await stack.probe.subscribe("fulfilment", [{ pattern: "orders.>", subject: "orders.created" }]);
    expect(orders).toMatchObject({ rejected: true, received: false });
  });

  test("the clients themselves are refused: another durable, a consumer of one's own, a purge", async () => {
    const fulfilment = await as("fulfilment");
    await expect(jetstream(fulfilment).consumers.get(ORDERS, "billing")).rejects.toThrow(VIOLATION);
    const jsm = await jetstreamManager(fulfilment, { checkAPI: false });
    await expect(jsm.consumers.add(ORDERS, { durable_name: "mine", ack_policy: "explicit" as never })).rejects.toThrow(VIOLATION);

    const publisher = await jetstreamManager(await as("orders-api"), { checkAPI: false });
    await expect(publisher.streams.purge(ORDERS)).rejects.toThrow(VIOLATION);
    await expect(publisher.streams.delete(ORDERS)).rejects.toThrow(VIOLATION);

    const bystander = await as("bystander");
    await expect(jetstreamManager(bystander)).rejects.toThrow(VIOLATION);
    await expect(jetstream(bystander).publish("orders.created", "x", { timeout: 1_000 })).rejects.toThrow(VIOLATION);

    // The stream and every declared consumer are still there, untouched.
    const admin = await jetstreamManager(await as(jetstreamAdminUser("APP")));
    expect((await admin.streams.info(ORDERS)).state.messages).toBeGreaterThan(0);
    const names: string[] = [];
    for await (const name of admin.consumers.list(ORDERS)) names.push(name.name);
    expect(names.sort()).toEqual(["audit", "billing", "fulfilment", "spare"]);
  });

  test("without its inbox prefix a client gets no answer: the server refuses its `_INBOX` reply subscription", async () => {
    await expect(jetstream(await as("reporting", null)).streams.get(ORDERS)).rejects.toThrow(SHARED_INBOX_REFUSED);
    await expect(jetstream(await as("fulfilment", null)).consumers.get(ORDERS, "fulfilment")).rejects.toThrow(SHARED_INBOX_REFUSED);
    await expect(jetstreamManager(await as(jetstreamAdminUser("APP"), null))).rejects.toThrow(SHARED_INBOX_REFUSED);
  });
});

/** The first message `accept` takes from a consumer's iterator, or a failure after 5 s. */
async function firstMatching(messages: AsyncIterable<JsMsg>, accept: (msg: JsMsg) => boolean): Promise<JsMsg> {
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no matching message within 5s")), 5_000).unref());
  const found = (async () => {
    for await (const msg of messages) {
      if (accept(msg)) return msg;
      msg.ack();
    }
    throw new Error("the consumer stopped before a matching message arrived");
  })();
  return Promise.race([found, deadline]);
}
