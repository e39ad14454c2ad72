// Every JetStream intent (config/jetstreamIntent.ts) with the Go and Python clients, on the real
// nats-server from the rendered config: natscli 0.5.0 (nats.go 1.53) and nats-py 2.16. What a grant
// covers works; what lies next to it is refused, and the refusal is the server's own: the client
// reports its "Permissions Violation for Publish to <subject>". nats.js is covered by
// jetstreamIntent.server.test.ts and kvObjectIntent.server.test.ts.
//
// nats.go reads object metadata with direct gets ($JS.API.DIRECT.GET.OBJ_<s>.$O.<s>.M.<name> and
// ...M.>) and deletes the ordered consumers it made; before the object grants had both, every
// `nats object info|get|put|del` timed out and `nats kv ls`/`history` hung for 5 s.
//
// The stack has private reply inboxes: every client connects with its service's inbox prefix
// (natscli --inbox-prefix, nats-py inbox_prefix, nats.js inboxPrefix), including the ordered
// consumers natscli's KV and object commands make; a client left on `_INBOX` gets no answer.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { checkStackConfig, startProbed, type ProbedNats } from "../harness/permissionProbe";
import { runNatsPy, toolPath } from "../harness/tools";
import { intentStack, privatePrefix, SHARED_INBOX_REFUSED } from "../harness/intentStack";

const STACK: StackConfigInput = intentStack();
STACK.services!.push({ name: "bystander", publish: ["misc.>"], subscribe: ["misc.>"] });
const raw = STACK as Record<string, unknown>;


let stack: ProbedNats;
let dir: string;

beforeAll(async () => {
  expect(checkStackConfig(raw).ok).toBe(true);
  stack = await startProbed(raw);
  dir = mkdtempSync(path.join(tmpdir(), "nats-infra-intent-clients-"));
  writeFileSync(path.join(dir, "report.txt"), "report body\n");
}, 30_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface CliRun {
  ok: boolean;
  output: string;
  ms: number;
}

/**
 * natscli as `user` (password from the environment, as a person runs it) with its inbox prefix;
 * JetStream calls wait 1 s at most. `withoutPrefix` leaves natscli on its default `_INBOX`.
 */
function nats(user: string, ...args: string[]): Promise<CliRun> {
  return natscli(user, ["--inbox-prefix", privatePrefix(user), ...args]);
}
const withoutPrefix = (user: string, ...args: string[]) => natscli(user, args);

function natscli(user: string, args: string[]): Promise<CliRun> {
  const started = Date.now();
  const env = { ...process.env, NATS_URL: stack.nats.url, NATS_USER: user, NATS_PASSWORD: stack.nats.passwords[user], NATS_CONTEXT: "", HOME: dir };
  return new Promise((resolve) => {
    execFile(toolPath("nats"), ["--timeout", "1s", ...args], { env, timeout: 10_000 }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}`, ms: Date.now() - started }),
    );
  });
}

/** nats.js as `user` with its inbox prefix, closed when the test ends. */
async function natsJs(user: string) {
  const nc = await connect({ servers: stack.nats.url, user, pass: stack.nats.passwords[user], inboxPrefix: privatePrefix(user), reconnect: false });
  onTestFinished(() => nc.close());
  return nc;
}

/** The server refused `subject` to this natscli run: natscli prints the server's violation. */
const refusedTo = (subject: string) => `Permissions Violation for Publish to "${subject}"`;

async function granted(user: string, ...args: string[]): Promise<string> {
  const run = await nats(user, ...args);
  expect(run.output).not.toMatch(/Permissions Violation/);
  expect({ args, ok: run.ok, output: run.output }).toMatchObject({ ok: true });
  // No request waited for a timeout: every one was answered.
  expect(run.ms).toBeLessThan(1_000);
  return run.output;
}

/** Runs every refusal at once (each waits up to 1 s for an answer that never comes). */
async function refused(cases: [user: string, subject: string, ...args: string[]][]): Promise<void> {
  const runs = await Promise.all(cases.map(([user, , ...args]) => nats(user, ...args)));
  const unexpected = cases
    .map(([user, subject, ...args], i) => ({ user, args: args.join(" "), subject, ok: runs[i].ok, violation: runs[i].output.includes(refusedTo(subject)) }))
    .filter((r) => r.ok || !r.violation);
  expect(unexpected).toEqual([]);
}

describe("natscli (nats.go)", () => {
  test("publish: pub --jetstream gets the stream's ack; stream info, a consumer and a KV bucket are refused", async () => {
    expect(await granted("pub", "pub", "orders.pull", "for the puller", "--jetstream")).toMatch(/Stored in Stream: ORDERS Sequence: \d+/);
    await refused([
      ["pub", "$JS.API.STREAM.INFO.ORDERS", "stream", "info", "ORDERS"],
      ["pub", "$JS.API.CONSUMER.INFO.ORDERS.puller", "consumer", "next", "ORDERS", "puller"],
      ["bystander", "orders.pull", "pub", "orders.pull", "x", "--jetstream"],
    ]);
  }, 15_000);

  test("consume, pull: info, next with ack; the other durable, a new consumer and the stream itself are refused", async () => {
    expect(await granted("puller", "consumer", "info", "ORDERS", "puller")).toMatch(/Pull Mode: true/);
    const next = await granted("puller", "consumer", "next", "ORDERS", "puller");
    expect(next).toMatch(/for the puller/);
    expect(next).toMatch(/Acknowledged message/);
    await refused([
      ["puller", "$JS.API.CONSUMER.INFO.ORDERS.pusher", "consumer", "info", "ORDERS", "pusher"],
      ["puller", "$JS.API.CONSUMER.INFO.ORDERS.mine", "consumer", "add", "ORDERS", "mine", "--pull", "--defaults"],
      // natscli reads the stream before purging it; the purge itself is refused in jetstreamIntent.server.test.ts.
      ["puller", "$JS.API.STREAM.INFO.ORDERS", "stream", "purge", "ORDERS", "-f"],
      ["puller", "orders.pull", "pub", "orders.pull", "x", "--jetstream"],
    ]);
  }, 15_000);

  test("consume, push: the deliver subject with acks; another service cannot listen there", async () => {
    await jetstream(await natsJs("pub")).publish("orders.push", "for the pusher");
    const run = await nats("pusher", "sub", "deliver.pusher", "--count", "1", "--ack");
    expect(run.output).not.toMatch(/Violation/);
    expect(run.output).toMatch(/for the pusher/);
    expect(run.ok).toBe(true);
    const other = await nats("reader", "sub", "deliver.pusher", "--count", "1");
    expect(other.output).toContain('Permissions Violation for Subscription to "deliver.pusher"');
    await refused([["pusher", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.pusher", "consumer", "next", "ORDERS", "pusher"]]);
  }, 15_000);

  test("read: stream info and messages by sequence and last by subject; consuming and publishing are refused", async () => {
    expect(await granted("reader", "stream", "info", "ORDERS")).toMatch(/Subjects: orders\.>/);
    expect(await granted("reader", "stream", "get", "ORDERS", "1")).toMatch(/for the puller/);
    expect(await granted("reader", "stream", "get", "ORDERS", "--last-for", "orders.push")).toMatch(/for the pusher/);
    await refused([
      ["reader", "$JS.API.CONSUMER.INFO.ORDERS.puller", "consumer", "next", "ORDERS", "puller"],
      ["reader", "orders.pull", "pub", "orders.pull", "x", "--jetstream"],
      ["reader", "$JS.API.STREAM.DELETE.ORDERS", "stream", "rm", "ORDERS", "-f"],
    ]);
  }, 15_000);

  test("KV write and read: put, create, update, delete, purge; get, revisions, ls, history, info", async () => {
    await granted("kv-writer", "kv", "put", "sessions", "k1", "v1");
    await granted("kv-writer", "kv", "put", "sessions", "k1", "v2");
    await granted("kv-writer", "kv", "create", "sessions", "k2", "new");
    await granted("kv-writer", "kv", "update", "sessions", "k2", "updated", "3");
    await granted("kv-writer", "kv", "put", "sessions", "gone", "x");
    await granted("kv-writer", "kv", "del", "sessions", "gone", "-f");
    await granted("kv-writer", "kv", "purge", "sessions", "gone", "-f");
    expect(await granted("kv-reader", "kv", "get", "sessions", "k1", "--raw")).toBe("v2");
    expect(await granted("kv-reader", "kv", "get", "sessions", "k1", "--revision", "1", "--raw")).toBe("v1");
    expect((await granted("kv-reader", "kv", "ls", "sessions")).trim().split("\n").sort()).toEqual(["k1", "k2"]);
    expect(await granted("kv-reader", "kv", "history", "sessions", "k1")).toMatch(/v1[\s\S]*v2/);
    expect(await granted("kv-reader", "kv", "info", "sessions")).toMatch(/History Kept: 5/);
    await refused([
      ["kv-reader", "$KV.sessions.k1", "kv", "put", "sessions", "k1", "mine"],
      ["kv-reader", "$KV.sessions.k1", "kv", "del", "sessions", "k1", "-f"],
      ["kv-writer", "$JS.API.STREAM.DELETE.KV_sessions", "kv", "rm", "sessions", "-f"],
      ["kv-writer", "$JS.API.STREAM.INFO.OBJ_files", "object", "info", "files"],
      ["bystander", "$JS.API.STREAM.INFO.KV_sessions", "kv", "get", "sessions", "k1"],
    ]);
  }, 20_000);

  test("object store write and read: put, replace, delete; info, get, ls, store info", async () => {
    const file = path.join(dir, "report.txt");
    expect(await granted("obj-writer", "object", "put", "files", file, "--name", "report.txt", "-f")).toMatch(/Size: 12 B/);
    await granted("obj-writer", "object", "put", "files", file, "--name", "report.txt", "-f");
    await granted("obj-writer", "object", "put", "files", file, "--name", "temp.txt", "-f");
    await granted("obj-writer", "object", "del", "files", "temp.txt", "-f");
    expect(await granted("obj-reader", "object", "info", "files", "report.txt")).toMatch(/Size: 12 B/);
    const out = path.join(dir, "out.txt");
    await granted("obj-reader", "object", "get", "files", "report.txt", "--output", out, "-f");
    expect(readFileSync(out, "utf8")).toBe("report body\n");
    const listing = await granted("obj-reader", "object", "ls", "files");
    expect(listing).toContain("report.txt");
    expect(listing).not.toContain("temp.txt");
    expect(await granted("obj-reader", "object", "info", "files")).toMatch(/JetStream Stream: OBJ_files/);
    await refused([
      ["obj-reader", "$O.files.M.cmVwb3J0LnR4dA==", "object", "del", "files", "report.txt", "-f"],
      ["obj-writer", "$JS.API.STREAM.DELETE.OBJ_files", "object", "rm", "files", "-f"],
      ["kv-reader", "$JS.API.STREAM.INFO.OBJ_files", "object", "info", "files", "report.txt"],
      ["bystander", "$JS.API.STREAM.INFO.OBJ_files", "object", "ls", "files"],
    ]);
    // The reader's put is refused at its first chunk (and then at the purge that cleans up).
    const put = await nats("obj-reader", "object", "put", "files", file, "--name", "mine.txt", "-f");
    expect(put.ok).toBe(false);
    expect(put.output).toMatch(/Permissions Violation for Publish to "\$O\.files\.C\./);
  }, 20_000);
  test("without its inbox prefix natscli gets no answer: the server refuses its `_INBOX` reply subscription", async () => {
    const runs = await Promise.all([
      withoutPrefix("reader", "stream", "info", "ORDERS"),
      withoutPrefix("puller", "consumer", "info", "ORDERS", "puller"),
      withoutPrefix("kv-reader", "kv", "get", "sessions", "k1"),
      withoutPrefix("obj-reader", "object", "ls", "files"),
    ]);
    expect(runs.filter((run) => run.ok || !SHARED_INBOX_REFUSED.test(run.output)).map((run) => run.output)).toEqual([]);
  }, 15_000);
});

/**
 * A nats-py 2.16 script as `user` connecting with its inbox prefix (`inboxPrefix` null: nats-py's
 * default `_INBOX`): `body` runs inside main() with nc and js; refused() prints whether a call failed.
 */
function py(user: string, body: string, inboxPrefix: string | null): string {
  const indented = body.trim().split("\n").map((line) => `    ${line}`).join("\n");
  return `
import asyncio, os, nats

async def refused(what, call):
    try:
        await call
        print(what, "allowed")
    except Exception:
        print(what, "refused")

async def main():
    errors = []
    async def on_error(e):
        errors.append(str(e))
    nc = await nats.connect(os.environ["NATS_URL"], user="${user}", password=os.environ["NATS_PASSWORD"], error_cb=on_error${inboxPrefix === null ? "" : `, inbox_prefix="${inboxPrefix}"`})
    js = nc.jetstream(timeout=1)
${indented}
    await nc.close()
    for e in errors:
        print("error", e)

asyncio.run(main())
`;
}

const runPy = async (user: string, body: string, inboxPrefix: string | null = privatePrefix(user)) =>
  (await runNatsPy(py(user, body, inboxPrefix), { NATS_URL: stack.nats.url, NATS_PASSWORD: stack.nats.passwords[user] })).trim().split("\n");
/** How nats-py 2.16 hands the server's violation to error_cb (lower-cased). */
const violation = (subject: string) => `error nats: permissions violation for publish to "${subject.toLowerCase()}"`;

describe("nats-py", () => {
  test("publish, pull and push consume, read", async () => {
    expect(
      await runPy(
        "pub",
        `
ack = await js.publish("orders.pull", b"py pull")
print("ack", ack.stream)
await js.publish("orders.push", b"py push")
await refused("stream_info", js.stream_info("ORDERS"))`,
      ),
    ).toEqual(["ack ORDERS", "stream_info refused", violation("$JS.API.STREAM.INFO.ORDERS")]);

    expect(
      await runPy(
        "puller",
        `
sub = await js.pull_subscribe("orders.pull", durable="puller", stream="ORDERS")
[msg] = await sub.fetch(1, timeout=2)
print("got", msg.data.decode())
await msg.ack_sync()
await refused("other durable", js.pull_subscribe("orders.push", durable="pusher", stream="ORDERS"))`,
      ),
    ).toEqual(["got py pull", "other durable refused", violation("$JS.API.CONSUMER.INFO.ORDERS.pusher")]);

    // subscribe with durable and stream: CONSUMER.INFO, then the deliver subject; acks on $JS.ACK.
    expect(
      await runPy(
        "pusher",
        `
sub = await js.subscribe("orders.push", durable="pusher", stream="ORDERS", manual_ack=True)
while True:
    msg = await sub.next_msg(timeout=3)
    await msg.ack_sync()
    if msg.data == b"py push":
        break
print("got", msg.data.decode())`,
      ),
    ).toEqual(["got py push"]);

    expect(
      await runPy(
        "reader",
        `
info = await js.stream_info("ORDERS")
print("stream", info.config.name)
first = await js.get_msg("ORDERS", 1)
print("first", first.data.decode())
last = await js.get_last_msg("ORDERS", "orders.pull")
print("last", last.data.decode())
await refused("publish", js.publish("orders.pull", b"x"))`,
      ),
    ).toEqual(["stream ORDERS", "first for the puller", "last py pull", "publish refused", violation("orders.pull")]);
  }, 30_000);

  test("KV: a writer puts, creates, updates, deletes and purges; a reader gets by key and revision", async () => {
    expect(
      await runPy(
        "kv-writer",
        `
kv = await js.key_value("sessions")
rev = await kv.put("py", b"one")
rev = await kv.update("py", b"two", last=rev)
await kv.create("py-new", b"x")
await kv.delete("py-new")
await kv.purge("py-new")
print("written", (await kv.get("py")).value.decode())`,
      ),
    ).toEqual(["written two"]);
    expect(
      await runPy(
        "kv-reader",
        `
kv = await js.key_value("sessions")
entry = await kv.get("py")
print("get", entry.value.decode())
old = await kv.get("py", revision=entry.revision - 1)
print("revision", old.value.decode())
await refused("put", kv.put("py", b"mine"))`,
      ),
    ).toEqual(["get two", "revision one", "put refused", violation("$KV.sessions.py")]);
  }, 30_000);

  test("object store: a writer puts and deletes; a reader reads info and status", async () => {
    expect(
      await runPy(
        "obj-writer",
        `
store = await js.object_store("files")
await store.put("py.txt", b"from python")
await store.put("py.txt", b"from python again")
await store.put("py-temp.txt", b"temporary")
await store.delete("py-temp.txt")
print("put", (await store.get_info("py.txt")).size)`,
      ),
    ).toEqual(["put 17"]);
    expect(
      await runPy(
        "obj-reader",
        `
store = await js.object_store("files")
info = await store.get_info("py.txt")
print("info", info.name, info.size)
print("status", (await store.status()).bucket)
await refused("put", store.put("mine.txt", b"x"))`,
      ),
    ).toEqual([
      "info py.txt 17",
      "status files",
      "put refused",
      // Its first chunk, then the purge nats-py sends to clean up after the failed put.
      expect.stringMatching(/^error nats: permissions violation for publish to "\$o\.files\.c\./),
      violation("$JS.API.STREAM.PURGE.OBJ_files"),
    ]);
  }, 30_000);

  test("without its inbox prefix nats-py gets no answer: the server refuses its `_INBOX` reply subscription", async () => {
    const [outcome, ...errors] = await runPy("reader", `await refused("stream_info", js.stream_info("ORDERS"))`, null);
    expect(outcome).toBe("stream_info refused");
    expect(errors).toEqual([expect.stringMatching(/^error nats: permissions violation for subscription to "_inbox\.[a-z0-9]+\.\*"$/i)]);
  }, 30_000);
});
