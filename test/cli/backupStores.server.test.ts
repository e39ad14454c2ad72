// `nats-infra backup` and `restore` of KV buckets and object stores on a real server: each is a
// stream underneath (KV_<bucket>, OBJ_<store>), backed up and restored as the account's JetStream
// admin like any declared stream. After the streams are deleted and restored, the service reads
// back every key with its history and every object byte for byte through @nats-io/kv and
// @nats-io/obj. A memory bucket is reported as skipped (the server snapshots file streams only).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { natsInfra } from "../harness/cli";
import { writeDevState } from "../harness/devState";
import { startNats, type RunningNats } from "../harness/natsServer";
import { reconcileDeclared } from "../harness/reconcileDeclared";

const SERVICE = "settings-service";
const input: StackConfigInput = {
  services: [{ name: SERVICE, jetstream: { kv: [{ bucket: "settings", access: "write" }, { bucket: "sessions", access: "write" }], objects: [{ store: "reports", access: "write" }] } }],
  kv: [
    { bucket: "settings", history: 5, allowDelete: true },
    { bucket: "sessions", storage: "memory" },
  ],
  objectStores: [{ store: "reports", allowDelete: true }],
};

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-backup-stores-"));
let server: RunningNats;
let stateDir: string;
// Larger than one object chunk (128 KiB), so the store holds several chunk messages.
const report = randomBytes(300 * 1024);

const as = async <T>(user: string, run: (nc: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> => {
  const nc = await connect({ servers: server.url, ...server.login(user) });
  try {
    return await run(nc);
  } finally {
    await nc.close();
  }
};

beforeAll(async () => {
  server = await startNats(input as Record<string, unknown>);
  stateDir = writeDevState(path.join(scratch, "state"), input as Record<string, unknown>, server.config, server.passwords, server.url);
  await reconcileDeclared(server.config, server.url, server.passwords);
  await as(SERVICE, async (nc) => {
    const settings = await new Kvm(nc).open("settings");
    await settings.put("theme", "light");
    await settings.put("theme", "dark");
    await settings.put("language", "en");
    await settings.put("obsolete", "x");
    await settings.delete("obsolete");
    await (await new Kvm(nc).open("sessions")).put("abc", "in memory only");
    await (await new Objm(nc).open("reports")).putBlob({ name: "q3.bin" }, report);
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test("backup, delete the bucket's and the store's streams, restore: every key with its history and every object byte come back", async () => {
  const dir = path.join(scratch, "backup");
  const backup = await natsInfra("backup", dir, "--dev", stateDir);
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
  expect(backup.stdout).toMatch(/^APP\/KV_settings {2}5 messages/m);
  expect(backup.stdout).toMatch(/^APP\/OBJ_reports {2}\d+ messages/m);
  expect(backup.stdout).toContain("APP/KV_sessions  skipped: memory storage");

  await as(jetstreamAdminUser("APP"), async (nc) => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("KV_settings");
    await jsm.streams.delete("OBJ_reports");
  });
  const restored = await natsInfra("restore", dir, "--dev", stateDir);
  expect(restored.code, restored.stdout + restored.stderr).toBe(0);
  expect(restored.stdout).toContain("count, sequences and content hash match the manifest");

  await as(SERVICE, async (nc) => {
    const settings = await new Kvm(nc).open("settings");
    expect((await settings.get("theme"))?.string()).toBe("dark");
    expect((await settings.get("language"))?.string()).toBe("en");
    const history: string[] = [];
    for await (const entry of await settings.history({ key: "theme" })) history.push(entry.string());
    expect(history).toEqual(["light", "dark"]);
    const keys: string[] = [];
    for await (const key of await settings.keys()) keys.push(key);
    expect(keys.sort()).toEqual(["language", "theme"]);
    const fetched = await (await new Objm(nc).open("reports")).getBlob("q3.bin");
    expect(Buffer.from(fetched!).equals(report)).toBe(true);
  });
}, 60_000);
