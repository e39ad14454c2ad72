// Private reply inboxes with nats.go (1.53.1, test/clients/go): request/reply and every
// JetStream intent (publish, pull and push consume, read, KV and object stores, read and write)
// work on the real nats-server from the rendered config when the client connects with its
// service's prefix (nats.CustomInboxPrefix), and the same calls without it fail with the server's
// own permission violation on the `_INBOX.` subscription. Next to each grant, a refusal shows
// the grants are still exactly the intent's.
import { intentStack, privatePrefix, SHARED_INBOX_REFUSED } from "../harness/intentStack";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { goClientMissing, runGoClient, startGoClient, type GoClientEnv } from "../harness/goClient";
import { api, checkStackConfig, startProbed, type ProbedNats } from "../harness/permissionProbe";

const STACK: StackConfigInput = intentStack([
  { name: "orders-client", publish: ["svc.orders"] },
  { name: "orders-svc", subscribe: ["svc.orders"], requests: false },
  { name: "snooper", subscribe: ["svc.>"], publish: ["svc.>"] },
]);
const raw = STACK as Record<string, unknown>;

const publishRefused = (subject: string) => `Permissions Violation for Publish to "${subject}"`;

const binary = goClientMissing();
if (binary.missing && !binary.fail) console.warn(`test/inboxes/goClient.server.test.ts skipped: ${binary.message}`);

describe.skipIf(binary.missing && !binary.fail)("nats.go under private inboxes", () => {
  let stack: ProbedNats;

  beforeAll(async () => {
    if (binary.missing) throw new Error(binary.message);
    expect(checkStackConfig(raw).ok).toBe(true);
    stack = await startProbed(raw);
  }, 30_000);

  afterAll(() => stack?.close());

  /** `service`'s login for the Go client; without an inbox prefix, nats.go uses its default `_INBOX`. */
  const login = (service: string, inboxPrefix: string | undefined): GoClientEnv => ({ url: stack.nats.url, user: service, password: stack.nats.passwords[service], inboxPrefix });
  /** With its private prefix, as its clients are told to connect. */
  const as = (service: string) => login(service, privatePrefix(service));

  /** Runs a call that must succeed, and returns its one result. */
  async function granted(service: string, ...cmd: string[]): Promise<Record<string, unknown>> {
    const run = await runGoClient(cmd, as(service));
    expect({ cmd, ok: run.ok, errors: run.errors }).toEqual({ cmd, ok: true, errors: [] });
    expect(run.results).toHaveLength(1);
    return run.results[0];
  }

  /** Each call waits this long for an answer that never comes; all run at once. */
  const REFUSAL_WAIT = { callTimeout: "500ms" };

  /**
   * Calls that must each fail on the server's own refusal: `withoutPrefix`, a call a granted test
   * made, from a client left on the default `_INBOX` (its reply subscription is refused); and
   * `publishing`, a call next to the grant, with the prefix (the server refuses that publish).
   */
  type Refusal = { service: string; cmd: string[] } & ({ withoutPrefix: true } | { publish: string });
  async function refused(cases: Refusal[]): Promise<void> {
    const runs = await Promise.all(
      cases.map((c) => runGoClient(c.cmd, { ...login(c.service, "withoutPrefix" in c ? undefined : privatePrefix(c.service)), ...REFUSAL_WAIT }, { timeoutMs: 15_000 })),
    );
    const unexpected = cases
      .map((c, i) => ({ service: c.service, cmd: c.cmd.join(" "), ok: runs[i].ok, errors: runs[i].errors, expected: "withoutPrefix" in c ? SHARED_INBOX_REFUSED : publishRefused(c.publish) }))
      .filter((r) => r.ok || !r.errors.some((e) => (typeof r.expected === "string" ? e.includes(r.expected) : r.expected.test(e))));
    expect(unexpected).toEqual([]);
  }
  const withoutPrefix = (service: string, ...cmd: string[]): Refusal => ({ service, cmd, withoutPrefix: true });
  const publishing = (service: string, subject: string, ...cmd: string[]): Refusal => ({ service, cmd, publish: subject });

  test("request/reply: the reply comes back on the requester's prefix, and another service cannot listen there", async () => {
    const responder = startGoClient(["reply", "svc.orders", "pong", "2"], as("orders-svc"));
    const snooper = startGoClient(["sub", `${privatePrefix("orders-client")}.>`, "1"], as("snooper"));
    try {
      await Promise.all([responder.ready, snooper.ready]);
      expect(await granted("orders-client", "request", "svc.orders", "ping")).toEqual({ reply: "pong" });
      // Without its prefix the requester's reply subscription is refused, though the request went out.
      await refused([withoutPrefix("orders-client", "request", "svc.orders", "ping without prefix")]);
      const answered = await responder.done;
      expect(answered.ok).toBe(true);
      expect(answered.results.map((r) => r.data)).toEqual(["ping", "ping without prefix"]);
      expect(String(answered.results[0].reply)).toMatch(/^_INBOX_orders-client\./);
      expect(String(answered.results[1].reply)).toMatch(/^_INBOX\./);
      const snooped = await snooper.done;
      expect(snooped.results).toEqual([]);
      expect(snooped.errors).toContainEqual(expect.stringContaining(`Permissions Violation for Subscription to "${privatePrefix("orders-client")}.>"`));
    } finally {
      await Promise.all([responder.stop(), snooper.stop()]);
    }
  }, 20_000);

  test("publish: the stream's ack arrives on the prefix; without it none does; a reader cannot publish", async () => {
    expect(await granted("pub", "js-publish", "orders.pull", "for the puller")).toEqual({ stream: "ORDERS", seq: 1 });
    expect(await granted("pub", "js-publish", "orders.push", "for the pusher")).toEqual({ stream: "ORDERS", seq: 2 });
    await refused([withoutPrefix("pub", "js-publish", "orders.pull", "x"), publishing("reader", "orders.pull", "js-publish", "orders.pull", "x")]);
  }, 20_000);

  test("consume, pull: info, fetch and an acknowledged ack; another durable is refused", async () => {
    expect(await granted("puller", "js-next", "ORDERS", "puller")).toMatchObject({ stream: "ORDERS", consumer: "puller", subject: "orders.pull", data: "for the puller" });
    await refused([withoutPrefix("puller", "js-next", "ORDERS", "puller"), publishing("puller", "$JS.API.CONSUMER.INFO.ORDERS.pusher", "js-next", "ORDERS", "pusher")]);
  }, 20_000);

  test("consume, push: the deliver subject and an acknowledged ack; a pull from it is refused", async () => {
    expect(await granted("pusher", "js-push", "ORDERS", "pusher")).toMatchObject({ stream: "ORDERS", consumer: "pusher", subject: "orders.push", data: "for the pusher" });
    // nats.go refuses to pull from a push consumer by itself, so the pull request is sent as it would be.
    const pull = api("CONSUMER.MSG.NEXT.ORDERS.pusher");
    await refused([withoutPrefix("pusher", "js-push", "ORDERS", "pusher"), publishing("pusher", pull, "request", pull, '{"batch":1}')]);
  }, 20_000);

  test("read: a message by sequence; a publisher cannot read", async () => {
    expect(await granted("reader", "js-get", "ORDERS", "1")).toEqual({ stream: "ORDERS", seq: 1, subject: "orders.pull", data: "for the puller" });
    await refused([withoutPrefix("reader", "js-get", "ORDERS", "1"), publishing("pub", api("STREAM.INFO.ORDERS"), "js-get", "ORDERS", "1")]);
  }, 20_000);

  test("KV: a writer puts; a reader gets and lists keys through a watch; a reader cannot put", async () => {
    expect(await granted("kv-writer", "kv-put", "sessions", "k1", "v1")).toEqual({ key: "k1", revision: 1 });
    expect(await granted("kv-writer", "kv-put", "sessions", "k2", "v2")).toEqual({ key: "k2", revision: 2 });
    expect(await granted("kv-reader", "kv-get", "sessions", "k1")).toEqual({ key: "k1", value: "v1", revision: 1 });
    // The watch's ordered consumer delivers to an inbox subject under the prefix.
    expect(await granted("kv-reader", "kv-keys", "sessions")).toEqual({ keys: ["k1", "k2"] });
    await refused([
      withoutPrefix("kv-writer", "kv-put", "sessions", "k1", "x"),
      withoutPrefix("kv-reader", "kv-get", "sessions", "k1"),
      withoutPrefix("kv-reader", "kv-keys", "sessions"),
      publishing("kv-reader", "$KV.sessions.k1", "kv-put", "sessions", "k1", "mine"),
    ]);
  }, 20_000);

  test("object store: a writer puts and replaces; a reader gets; a reader cannot put", async () => {
    expect(await granted("obj-writer", "obj-put", "files", "report.txt", "report body")).toEqual({ name: "report.txt", size: 11, chunks: 1 });
    // Replacing purges the old chunks (STREAM.PURGE, filtered): granted to a writer.
    expect(await granted("obj-writer", "obj-put", "files", "report.txt", "report body 2")).toEqual({ name: "report.txt", size: 13, chunks: 1 });
    // The chunks come through an ordered consumer delivering under the prefix.
    expect(await granted("obj-reader", "obj-get", "files", "report.txt")).toEqual({ name: "report.txt", data: "report body 2" });
    await refused([withoutPrefix("obj-writer", "obj-put", "files", "other.txt", "x"), withoutPrefix("obj-reader", "obj-get", "files", "report.txt")]);
    const put = await runGoClient(["obj-put", "files", "mine.txt", "x"], { ...as("obj-reader"), ...REFUSAL_WAIT });
    expect(put.ok).toBe(false);
    expect(put.errors).toContainEqual(expect.stringMatching(/Permissions Violation for Publish to "\$O\.files\.C\./));
  }, 20_000);
});
