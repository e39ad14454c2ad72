// KV and object store intent (config/jetstreamIntent.ts) on the real nats-server with the real
// clients: @nats-io/kv and @nats-io/obj 3.4 (and nats-py 2.16 for one KV get) do everything their
// access grants, and the server refuses what it does not: writes to a reader, the bucket's or
// store's stream itself to everyone, and all of it to a service without intent. The bucket and
// the store are declared in the stack config and created by the reconciler's user.
//
// The stack has private reply inboxes: each client connects with its service's inbox prefix
// (nats.js inboxPrefix, nats-py inbox_prefix); the ordered consumers of keys(), history(), watch()
// and object reads deliver under it. A client left on the default `_INBOX` gets no answer.
import { privatePrefix, SHARED_INBOX_REFUSED } from "../harness/intentStack";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { KvWatchInclude, Kvm, type Bucket, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { api, checkStackConfig, startProbed, VIOLATION, without, type ProbedNats } from "../harness/permissionProbe";
import { runNatsPy } from "../harness/tools";

const BUCKET = "sessions";
const STORE = "files";
const STACK: StackConfigInput = {
  inboxes: "private",
  services: [
    { name: "kv-reader", jetstream: { kv: [{ bucket: BUCKET, access: "read" }] } },
    { name: "kv-writer", jetstream: { kv: [{ bucket: BUCKET, access: "write" }] } },
    { name: "obj-reader", jetstream: { objects: [{ store: STORE, access: "read" }] } },
    { name: "obj-writer", jetstream: { objects: [{ store: STORE, access: "write" }] } },
    { name: "bystander", publish: ["misc.>"], subscribe: ["misc.>"] },
  ],
  kv: [{ bucket: BUCKET, history: 5 }],
  objectStores: [{ store: STORE, maxBytes: "16MB" }],
};
const raw = STACK as Record<string, unknown>;

let stack: ProbedNats;

beforeAll(async () => {
  expect(checkStackConfig(raw).ok).toBe(true);
  stack = await startProbed(raw);
}, 30_000);

afterAll(async () => {
  await stack?.close();
});


/** nats.js as `user` with its inbox prefix (null: the client's default `_INBOX`). */
const as = (user: string, inboxPrefix: string | null = privatePrefix(user)): Promise<NatsConnection> => stack.as(user, inboxPrefix);
const bucketOf = async (user: string): Promise<KV> => new Kvm(await as(user)).open(BUCKET);
const storeOf = async (user: string): Promise<ObjectStore> => new Objm(await as(user)).open(STORE);

describe("KV bucket", () => {
  test("a writer puts, creates, updates, deletes and purges keys", async () => {
    const kv = await bucketOf("kv-writer");
    await kv.put("user1", "v1");
    const second = await kv.put("user1", "v2");
    expect(await kv.create("user2", "new")).toBeGreaterThan(second);
    await expect(kv.create("user2", "again")).rejects.toThrow(/wrong last sequence/);
    const rev = (await kv.get("user2"))!.revision;
    await kv.update("user2", "updated", rev);
    await kv.put("gone", "x");
    await kv.delete("gone");
    expect((await kv.get("gone"))?.operation).toBe("DEL");
    await kv.put("purged", "x");
    await kv.purge("purged");
    expect((await kv.get("purged"))?.operation).toBe("PURGE");
  });

  test("a reader gets, lists keys, reads history and status, and watches", async () => {
    const kv = await bucketOf("kv-reader");
    expect((await kv.get("user1"))?.string()).toBe("v2");
    expect((await kv.status()).history).toBe(5);
    expect((await collect(await kv.keys())).sort()).toEqual(["user1", "user2"]);
    expect((await collect(await kv.history({ key: "user1" }))).map((e) => e.string())).toEqual(["v1", "v2"]);

    const watch = await kv.watch({ key: "user1", include: KvWatchInclude.UpdatesOnly });
    const writer = await bucketOf("kv-writer");
    await writer.put("user1", "v3");
    const [seen] = await collect(watch, 1);
    expect(seen.string()).toBe("v3");
    // Kvm.create on an existing bucket reads its stream info and then gets with DIRECT.GET.
    const direct = await new Kvm(await as("kv-reader")).create(BUCKET);
    expect((await direct.get("user1"))?.string()).toBe("v3");
    expect((await direct.get("user1", { revision: seen.revision }))?.string()).toBe("v3");
  });

  test("a reader cannot put, create or delete a key", async () => {
    const kv = await bucketOf("kv-reader");
    await expect(kv.put("user1", "mine", { timeout: 1_000 })).rejects.toThrow(VIOLATION);
    await expect(kv.create("new", "mine")).rejects.toThrow(VIOLATION);
    await expect(kv.delete("user1")).rejects.toThrow(VIOLATION);
    expect((await kv.get("user1"))?.string()).toBe("v3");
  });

  test("neither reader nor writer can purge or delete the bucket's stream", async () => {
    for (const user of ["kv-reader", "kv-writer"]) {
      // purgeBucket and purgeDeletes are on the implementation, not on the KV interface.
      const kv = (await bucketOf(user)) as Bucket;
      await expect(kv.purgeBucket()).rejects.toThrow(VIOLATION);
      await expect(kv.destroy()).rejects.toThrow(VIOLATION);
      await expect(kv.purgeDeletes(0)).rejects.toThrow(VIOLATION);
    }
    const admin = await jetstreamManager(await as(jetstreamAdminUser("APP")));
    expect((await admin.streams.info(`KV_${BUCKET}`)).state.messages).toBeGreaterThan(0);
  });

  test("a service without intent sees nothing of the bucket", async () => {
    // Kvm.open of a connection asks the server nothing; Kvm.create asks the API and the stream.
    await expect(new Kvm(await as("bystander")).create(BUCKET)).rejects.toThrow(VIOLATION);
    const kv = await bucketOf("bystander");
    await expect(kv.get("user1")).rejects.toThrow(VIOLATION);
    await expect(kv.keys()).rejects.toThrow(VIOLATION);
    await expect(kv.watch()).rejects.toThrow(VIOLATION);
    await expect(kv.status()).rejects.toThrow(VIOLATION);
    await expect(kv.put("user1", "x", { timeout: 1_000 })).rejects.toThrow(VIOLATION);
  });

  test("nats-py: a reader gets a key (key_value asks STREAM.INFO, get uses DIRECT.GET)", async () => {
    const stdout = await runNatsPy(KV_GET_PY, { NATS_URL: stack.nats.url, NATS_PASSWORD: stack.nats.passwords["kv-reader"] });
    expect(stdout.trim().split("\n")).toEqual(["user1 v3", "put refused"]);
  }, 30_000);
});

const KV_GET_PY = `
import asyncio, os, nats

async def main():
    errors = []
    async def on_error(e):
        errors.append(e)
    nc = await nats.connect(os.environ["NATS_URL"], user="kv-reader", password=os.environ["NATS_PASSWORD"], error_cb=on_error, inbox_prefix="${privatePrefix("kv-reader")}")
    kv = await nc.jetstream(timeout=2).key_value("${BUCKET}")
    entry = await kv.get("user1")
    print(entry.key, entry.value.decode())
    try:
        await kv.put("user1", b"mine")
        print("put allowed")
    except Exception:
        print("put refused")
    await nc.close()

asyncio.run(main())
`;

describe("object store", () => {
  const body = new Uint8Array(300 * 1024).map((_, i) => i % 251);

  test("a writer puts, gets, lists and deletes objects", async () => {
    const os = await storeOf("obj-writer");
    await os.putBlob({ name: "report.bin" }, body);
    await os.putBlob({ name: "keep.txt" }, new TextEncoder().encode("kept"));
    expect(await os.getBlob("report.bin")).toEqual(body);
    // Replacing an object purges the old chunks (a purge filtered to them).
    await os.putBlob({ name: "keep.txt" }, new TextEncoder().encode("kept again"));
    await os.putBlob({ name: "temp.txt" }, new TextEncoder().encode("temporary"));
    expect((await os.delete("temp.txt")).success).toBe(true);
    expect(await os.get("temp.txt")).toBeNull();
    expect((await os.list()).map((o) => o.name).sort()).toEqual(["keep.txt", "report.bin"]);
  });

  test("a reader gets, lists, reads info and status, and watches", async () => {
    const os = await storeOf("obj-reader");
    expect(await os.getBlob("report.bin")).toEqual(body);
    expect(new TextDecoder().decode((await os.getBlob("keep.txt"))!)).toBe("kept again");
    expect((await os.info("report.bin"))?.size).toBe(body.length);
    expect((await os.list()).map((o) => o.name).sort()).toEqual(["keep.txt", "report.bin"]);
    expect((await os.status()).bucket).toBe(STORE);
    const watch = await os.watch();
    await (await storeOf("obj-writer")).putBlob({ name: "watched.txt" }, new TextEncoder().encode("w"));
    const [seen] = await collect(watch, 1);
    expect(seen?.name).toBe("watched.txt");
  });

  test("a reader cannot put or delete; nobody can purge or destroy the store through delete rights alone", async () => {
    const os = await storeOf("obj-reader");
    await expect(os.putBlob({ name: "mine.txt" }, new TextEncoder().encode("x"))).rejects.toThrow(VIOLATION);
    await expect(os.delete("keep.txt")).rejects.toThrow(VIOLATION);
    await expect(os.destroy()).rejects.toThrow(VIOLATION);
    await expect((await storeOf("obj-writer")).destroy()).rejects.toThrow(VIOLATION);
    expect(new TextDecoder().decode((await os.getBlob("keep.txt"))!)).toBe("kept again");
  });

  test("a service without intent sees nothing of the store", async () => {
    await expect(storeOf("bystander")).rejects.toThrow(VIOLATION);
    const os = await new Objm(jetstream(await as("bystander"), { checkAPI: false })).open(STORE, false);
    await expect(os.info("keep.txt")).rejects.toThrow(VIOLATION);
    await expect(os.get("keep.txt")).rejects.toThrow(VIOLATION);
    await expect(os.list()).rejects.toThrow(VIOLATION);
    await expect(os.putBlob({ name: "x" }, new TextEncoder().encode("x"))).rejects.toThrow(VIOLATION);
  });
});

describe("without the inbox prefix", () => {
  test("a client left on the default `_INBOX` gets no answer: the server refuses its reply subscription", async () => {
    const kv = await new Kvm(await as("kv-reader", null)).open(BUCKET);
    await expect(kv.get("user1")).rejects.toThrow(SHARED_INBOX_REFUSED);
    await expect(new Objm(await as("obj-reader", null)).open(STORE)).rejects.toThrow(SHARED_INBOX_REFUSED);
  });
});

/**
 * The neighbours of each grant as raw subjects; the server must refuse every one. Consumers
 * without a filter in the stream's subjects, durables, consumer deletes, stream changes, and the
 * other kind's stream.
 */
const KV = `KV_${BUCKET}`;
const OBJ = `OBJ_${STORE}`;
const streamAdmin = (s: string) => [
  api(`STREAM.CREATE.${s}`),
  api(`STREAM.UPDATE.${s}`),
  api(`STREAM.DELETE.${s}`),
  api(`STREAM.MSG.DELETE.${s}`),
  api(`STREAM.SNAPSHOT.${s}`),
  api(`CONSUMER.CREATE.${s}`),
  api(`CONSUMER.CREATE.${s}.mine`),
  api(`CONSUMER.CREATE.${s}.mine.other.subject`),
  api(`CONSUMER.DURABLE.CREATE.${s}.mine`),
  api(`CONSUMER.MSG.NEXT.${s}.mine`),
  api(`CONSUMER.LIST.${s}`),
  api(`CONSUMER.NAMES.${s}`),
];
// A reader may delete consumers of the bucket's or store's stream (nats.go deletes the ordered
// consumers it made); a service without intent may not.
const KV_READ = [api("INFO"), api(`STREAM.INFO.${KV}`), api(`STREAM.MSG.GET.${KV}`), api(`DIRECT.GET.${KV}`), api(`CONSUMER.DELETE.${KV}.mine`), `$JS.FC.${KV}.x.y`];
const OBJ_READ = [
  api("INFO"),
  api(`STREAM.INFO.${OBJ}`),
  api(`STREAM.MSG.GET.${OBJ}`),
  api(`DIRECT.GET.${OBJ}.$O.${STORE}.M.bmFtZQ==`),
  api(`DIRECT.GET.${OBJ}.$O.${STORE}.M.>`),
  api(`CONSUMER.DELETE.${OBJ}.mine`),
  `$JS.FC.${OBJ}.x.y`,
];
const KV_KEYS = [`$KV.${BUCKET}.key`];
const OBJ_DATA = [`$O.${STORE}.C.x`, `$O.${STORE}.M.x`];
/** Direct gets other than of an object's metadata: by sequence, and of chunks. */
const OBJ_OTHER_DIRECT = [api(`DIRECT.GET.${OBJ}`), api(`DIRECT.GET.${OBJ}.$O.${STORE}.C.x`)];

const REFUSED: Record<string, string[]> = {
  "kv-reader": [...streamAdmin(KV), api(`STREAM.PURGE.${KV}`), ...KV_KEYS, ...streamAdmin(OBJ), ...without(OBJ_READ, [api("INFO")]), ...OBJ_DATA],
  "kv-writer": [...streamAdmin(KV), api(`STREAM.PURGE.${KV}`), ...streamAdmin(OBJ), api(`STREAM.PURGE.${OBJ}`), ...OBJ_DATA],
  "obj-reader": [...streamAdmin(OBJ), api(`STREAM.PURGE.${OBJ}`), ...OBJ_DATA, ...OBJ_OTHER_DIRECT, ...streamAdmin(KV), ...without(KV_READ, [api("INFO")]), ...KV_KEYS],
  "obj-writer": [...streamAdmin(OBJ), ...OBJ_OTHER_DIRECT, ...streamAdmin(KV), api(`STREAM.PURGE.${KV}`), ...KV_KEYS],
  bystander: [...streamAdmin(KV), ...streamAdmin(OBJ), ...KV_READ, ...OBJ_READ, ...KV_KEYS, ...OBJ_DATA],
};
const GRANTED: Record<string, string[]> = {
  "kv-reader": [...KV_READ, api(`CONSUMER.CREATE.${KV}.w.$KV.${BUCKET}.>`), api(`CONSUMER.INFO.${KV}.w`)],
  "kv-writer": [...KV_READ, ...KV_KEYS],
  "obj-reader": [...OBJ_READ, api(`CONSUMER.CREATE.${OBJ}.w.$O.${STORE}.M.>`)],
  "obj-writer": [...OBJ_READ, ...OBJ_DATA],
};

describe("the server's verdicts on raw subjects", () => {
  test.each(Object.keys(REFUSED))("%s may publish none of its neighbouring subjects", async (user) => {
    const verdicts = await stack.probe.publish(user, REFUSED[user]);
    expect(verdicts.filter((v) => v.allowed)).toEqual([]);
    expect(verdicts).toHaveLength(REFUSED[user].length);
  });

  test.each(Object.keys(GRANTED))("%s may publish what its access grants (flow control replies included)", async (user) => {
    const verdicts = await stack.probe.publish(user, GRANTED[user]);
    expect(verdicts.filter((v) => !v.allowed)).toEqual([]);
  });
});

/** The first `count` entries of a client iterator (all of it without count), or a failure after 5 s. */
async function collect<T>(iterator: AsyncIterable<T> & { stop?: () => void }, count = Infinity): Promise<T[]> {
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the iterator did not deliver within 5s")), 5_000).unref());
  const read = (async () => {
    const out: T[] = [];
    for await (const entry of iterator) {
      out.push(entry);
      if (out.length >= count) break;
    }
    return out;
  })();
  return Promise.race([read, deadline]);
}
