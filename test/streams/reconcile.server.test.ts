// The stream reconciler against the real nats-server and natscli (pinned, from .tools/bin):
// create, update in place with messages kept, idempotent reruns, refusals that leave data alone,
// streams removed from the config, adoption, consumers, explicit deletion.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { parseStackConfig } from "../../config/load";
import type { StackConfigInput, StreamConfig } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { MANAGED_KEY } from "../../streams/desired";
import { reconcile, type ReconcileResult } from "../../streams/reconcile";
import { sleep, startNats, type RunningNats } from "../harness/natsServer";
import { REPO_ROOT, toolPath } from "../harness/tools";

const ADMIN = jetstreamAdminUser("APP");
const SERVICES = [
  { name: "producer", publish: [">"], subscribe: [] },
  // A client of the consumers: fetches and acknowledges, nothing else.
  { name: "reader", publish: ["$JS.API.CONSUMER.>", "$JS.ACK.>"], subscribe: [] },
];

let nats: RunningNats;
let dir: string;

beforeAll(async () => {
  nats = await startNats({ services: SERVICES });
  dir = mkdtempSync(path.join(tmpdir(), "nats-infra-streams-"));
});
afterAll(async () => {
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type StreamInput = NonNullable<StackConfigInput["streams"]>[number];

/** Puts `streams` in the server's auth (the admin's permissions follow the config) and reconciles. */
async function converge(streams: StreamInput[], options: { dryRun?: boolean } = {}): Promise<ReconcileResult & { output: string }> {
  const input = { services: SERVICES, streams };
  const config = nats.rewrite(input);
  await nats.reload();
  let output = "";
  const result = await reconcile(config.streams, {
    url: nats.url,
    env: { NATS_PASSWORD: nats.passwords[ADMIN] },
    dryRun: options.dryRun ?? false,
    reportOthers: true,
    accounts: config.accounts.map((a) => a.name),
    log: (text) => (output += `${text}\n`),
  });
  return { ...result, output };
}

async function withManager<T>(user: string, run: (jsm: JetStreamManager, nc: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: nats.url, ...nats.login(user) });
  try {
    return await run(await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

const info = (name: string) => withManager("producer", (jsm) => jsm.streams.info(name));
const consumerInfo = (stream: string, name: string) => withManager("producer", (jsm) => jsm.consumers.info(stream, name));

async function publish(subject: string, count: number): Promise<void> {
  const nc = await connect({ servers: nats.url, user: "producer", pass: nats.passwords.producer });
  try {
    const js = jetstream(nc);
    for (let i = 0; i < count; i++) await js.publish(subject, `message ${i}`);
  } finally {
    await nc.close();
  }
}

function streamDecl(name: string, extra: Partial<StreamInput> = {}): StreamInput {
  return { name, subjects: [`${name.toLowerCase()}.>`], ...extra };
}

describe("create and update", () => {
  test("creates a declared stream and its consumers with the declared settings", async () => {
    const result = await converge([
      streamDecl("CREATE1", {
        maxMsgs: 500,
        maxBytes: "10MB",
        maxAge: "24h",
        duplicateWindow: "1m",
        description: "made by the test",
        consumers: [
          { name: "worker", filterSubjects: ["create1.a"], ackWait: "45s", maxDeliver: 5, maxAckPending: 20 },
          { name: "pusher", type: "push", deliverSubject: "deliver.create1", ackPolicy: "none" },
        ],
      }),
    ]);
    expect(result.output).toContain("+ create stream CREATE1");
    expect(result.output).toContain("+ create consumer worker");
    const stream = await info("CREATE1");
    expect(stream.config).toMatchObject({
      subjects: ["create1.>"],
      storage: "file",
      retention: "limits",
      max_msgs: 500,
      max_bytes: 10 * 1024 * 1024,
      max_age: 24 * 3600 * 1e9,
      duplicate_window: 60 * 1e9,
      description: "made by the test",
    });
    expect(stream.config.metadata?.[MANAGED_KEY]).toBe("true");
    const worker = await consumerInfo("CREATE1", "worker");
    expect(worker.config).toMatchObject({ durable_name: "worker", filter_subject: "create1.a", ack_policy: "explicit", ack_wait: 45e9, max_deliver: 5, max_ack_pending: 20 });
    const pusher = await consumerInfo("CREATE1", "pusher");
    expect(pusher.config).toMatchObject({ deliver_subject: "deliver.create1", ack_policy: "none" });
  });

  test("a second run changes nothing and says so", async () => {
    const streams = [streamDecl("IDEM", { maxMsgs: 100, maxAge: "30s", consumers: [{ name: "c1", filterSubjects: ["idem.a", "idem.b"] }, { name: "c2", ackPolicy: "none" }] })];
    const first = await converge(streams);
    expect(first.changed).toBe(true);
    const before = await info("IDEM");
    const second = await converge(streams);
    expect(second.changed).toBe(false);
    expect(second.output).toContain("No changes: the server matches the config");
    expect(second.output).toContain("= stream IDEM");
    const after = await info("IDEM");
    expect(after.config).toEqual(before.config);
    expect(after.created).toBe(before.created);
  });

  test("updates a changed limit in place and keeps the messages", async () => {
    await converge([streamDecl("UPD", { maxMsgs: 100 })]);
    await publish("upd.x", 25);
    const before = await info("UPD");
    const result = await converge([streamDecl("UPD", { maxMsgs: 200, description: "raised" })]);
    expect(result.output).toContain("~ update stream UPD");
    expect(result.output).toContain("maxMsgs: 100 -> 200");
    const after = await info("UPD");
    expect(after.config.max_msgs).toBe(200);
    expect(after.config.description).toBe("raised");
    expect(after.state.messages).toBe(25);
    expect(after.created).toBe(before.created);
  });

  test("a dry run prints the plan and changes nothing", async () => {
    await converge([streamDecl("DRY", { maxMsgs: 10 })]);
    const result = await converge([streamDecl("DRY", { maxMsgs: 20 })], { dryRun: true });
    expect(result.output).toContain("maxMsgs: 10 -> 20");
    expect(result.output).toContain("Dry run: nothing was changed.");
    expect((await info("DRY")).config.max_msgs).toBe(10);
  });
});

describe("refusals leave the stream and its data as they were", () => {
  test("a storage change is refused with the field and the options", async () => {
    await converge([streamDecl("FIXED", { maxMsgs: 1000 })]);
    await publish("fixed.x", 7);
    const before = await info("FIXED");
    const result = await converge([streamDecl("FIXED", { maxMsgs: 2000, storage: "memory" })]);
    expect(result.refused.map((p) => p.stream)).toEqual(["FIXED"]);
    expect(result.output).toContain("cannot change storage: the server cannot change the storage type");
    expect(result.output).toContain("set storage back to file");
    expect(result.output).toContain("set allowDelete: true on FIXED");
    const after = await info("FIXED");
    // Nothing of the stream changed, not even the field that could have.
    expect(after.config).toEqual(before.config);
    expect(after.state.messages).toBe(7);
  });

  test("retention to workqueue is refused; limits to interest on a stream with messages needs allowDelete", async () => {
    await converge([streamDecl("RET")]);
    await publish("ret.x", 3);
    const toWorkqueue = await converge([streamDecl("RET", { retention: "workqueue" })]);
    expect(toWorkqueue.output).toContain("cannot change retention: the server cannot change retention to or from workqueue");
    const toInterest = await converge([streamDecl("RET", { retention: "interest" })]);
    expect(toInterest.refused).toHaveLength(1);
    expect(toInterest.output).toContain("removes at once every stored message that no consumer still needs");
    const after = await info("RET");
    expect(after.config.retention).toBe("limits");
    expect(after.state.messages).toBe(3);
  });

  test("a lower limit that would drop stored messages is refused, and applied with allowDelete saying what goes", async () => {
    await converge([streamDecl("TRIM", { maxMsgs: 100 })]);
    await publish("trim.x", 10);
    const refused = await converge([streamDecl("TRIM", { maxMsgs: 4 })]);
    expect(refused.output).toContain("removes the 6 oldest of the 10 stored messages");
    expect(refused.output).toContain("keep maxMsgs at 10 or more");
    expect((await info("TRIM")).state.messages).toBe(10);

    const allowed = await converge([streamDecl("TRIM", { maxMsgs: 4, allowDelete: true })]);
    expect(allowed.refused).toHaveLength(0);
    expect(allowed.output).toContain("DELETES: removes the 6 oldest of the 10 stored messages");
    const after = await info("TRIM");
    expect(after.state.messages).toBe(4);
    expect(after.state.first_seq).toBe(7);
  });

  test("a lower per-subject limit or a shorter maxAge that would drop messages is refused", async () => {
    await converge([streamDecl("PERSUBJ")]);
    await publish("persubj.a", 5);
    await publish("persubj.b", 1);
    const perSubject = await converge([streamDecl("PERSUBJ", { maxMsgsPerSubject: 2 })]);
    expect(perSubject.output).toContain("removes 3 messages from 1 subject that hold more than 2");
    expect(perSubject.output).toContain("keep maxMsgsPerSubject at 5 or more");
    // A limit every subject already meets changes nothing stored, so it goes ahead.
    const fits = await converge([streamDecl("PERSUBJ", { maxMsgsPerSubject: 5 })]);
    expect(fits.refused).toHaveLength(0);
    expect((await info("PERSUBJ")).state.messages).toBe(6);

    await sleep(1100);
    const maxAge = await converge([streamDecl("PERSUBJ", { maxMsgsPerSubject: 5, maxAge: "1s" })]);
    expect(maxAge.output).toContain("cannot change maxAge: 0s (forever) -> 1s removes every message older than 1s");
    expect((await info("PERSUBJ")).state.messages).toBe(6);
  });

  test("denyDelete cannot be switched off again", async () => {
    await converge([streamDecl("DENY", { denyDelete: true })]);
    const result = await converge([streamDecl("DENY", { denyDelete: false })]);
    expect(result.output).toContain("cannot change denyDelete: the server never turns denyDelete off once it is on");
    expect((await info("DENY")).config.deny_delete).toBe(true);
  });

  test("an impossible change with allowDelete recreates the stream and says what it deletes", async () => {
    await converge([streamDecl("RECREATE", { consumers: [{ name: "c" }] })]);
    await publish("recreate.x", 5);
    const result = await converge([streamDecl("RECREATE", { storage: "memory", allowDelete: true, consumers: [{ name: "c" }] })]);
    expect(result.output).toContain("± replace stream RECREATE");
    expect(result.output).toContain("DELETES: deletes the stream with its 5 messages");
    const after = await info("RECREATE");
    expect(after.config.storage).toBe("memory");
    expect(after.state.messages).toBe(0);
    expect((await consumerInfo("RECREATE", "c")).config.durable_name).toBe("c");
  });
});

describe("nothing is deleted unless the config says so", () => {
  test("a stream removed from the config keeps its messages and is reported", async () => {
    await converge([streamDecl("GONE", { consumers: [{ name: "c" }] })]);
    await publish("gone.x", 4);
    const result = await converge([]);
    expect(result.output).toContain("stream GONE (holds 4 messages");
    expect(result.output).toContain("is not in the config: left as it is; nats-infra managed it before");
    const after = await info("GONE");
    expect(after.state.messages).toBe(4);
    expect(after.state.consumer_count).toBe(1);
  });

  test("a consumer removed from the config is kept", async () => {
    await converge([streamDecl("KEEPC", { consumers: [{ name: "a" }, { name: "b" }] })]);
    const result = await converge([streamDecl("KEEPC", { consumers: [{ name: "a" }] })]);
    expect(result.output).toContain("? consumer b is not in the config: left as it is");
    expect((await consumerInfo("KEEPC", "b")).name).toBe("b");
  });

  test("delete: true with allowDelete deletes the consumer, then the stream, and says what goes", async () => {
    await converge([streamDecl("DEL", { consumers: [{ name: "a" }, { name: "b" }] })]);
    await publish("del.x", 3);
    const consumerGone = await converge([streamDecl("DEL", { allowDelete: true, consumers: [{ name: "a" }, { name: "b", delete: true }] })]);
    expect(consumerGone.output).toContain("- delete consumer b");
    await expect(consumerInfo("DEL", "b")).rejects.toThrow(/consumer not found/);
    expect((await info("DEL")).state.messages).toBe(3);

    const streamGone = await converge([streamDecl("DEL", { allowDelete: true, delete: true, consumers: [{ name: "a" }] })]);
    expect(streamGone.output).toContain("- delete stream DEL");
    expect(streamGone.output).toContain("DELETES: deletes the stream with its 3 messages");
    await expect(info("DEL")).rejects.toThrow(/stream not found/);
    const again = await converge([streamDecl("DEL", { allowDelete: true, delete: true })]);
    expect(again.output).toContain("is marked delete: true and is not on the server; nothing to do");
    expect(again.changed).toBe(false);
  });
});

describe("adoption", () => {
  test("a stream made with natscli is adopted, updated in place and keeps its messages", async () => {
    // Made outside nats-infra, with settings nats-infra does not manage (direct get, metadata).
    const nc = toolPath("nats");
    const env = { ...process.env, NATS_URL: nats.url, NATS_USER: "producer", NATS_PASSWORD: nats.passwords.producer };
    const add = spawnSync(nc, ["stream", "add", "ADOPTED", "--subjects", "adopted.>", "--storage", "file", "--retention", "limits", "--discard", "old", "--max-msgs", "50", "--max-bytes=-1", "--max-age", "1h", "--max-msg-size=-1", "--max-msgs-per-subject=-1", "--dupe-window", "2m", "--replicas", "1", "--no-allow-rollup", "--no-deny-delete", "--no-deny-purge", "--allow-direct", "--metadata", "owner=team-a", "--defaults"], { env, encoding: "utf8" });
    expect(add.status, add.stderr + add.stdout).toBe(0);
    await publish("adopted.x", 6);
    const before = await info("ADOPTED");
    expect(before.config.metadata?.[MANAGED_KEY]).toBeUndefined();

    const result = await converge([streamDecl("ADOPTED", { maxMsgs: 80, maxAge: "1h" })]);
    expect(result.output).toContain("~ adopt stream ADOPTED");
    expect(result.output).toContain("maxMsgs: 50 -> 80");
    const after = await info("ADOPTED");
    expect(after.created).toBe(before.created);
    expect(after.state.messages).toBe(6);
    expect(after.config.max_msgs).toBe(80);
    expect(after.config.metadata?.[MANAGED_KEY]).toBe("true");
    // What nats-infra does not manage stays as it was.
    expect(after.config.allow_direct).toBe(true);
    expect(after.config.metadata?.owner).toBe("team-a");

    const again = await converge([streamDecl("ADOPTED", { maxMsgs: 80, maxAge: "1h" })]);
    expect(again.changed).toBe(false);
  });
});

describe("adoption refused", () => {
  test("a mirror of the same name is not adopted, and stays a mirror", async () => {
    await converge([streamDecl("ORIGIN")]);
    await publish("origin.x", 2);
    await withManager("producer", (jsm) => jsm.streams.add({ name: "MIRRORED", mirror: { name: "ORIGIN" } }));
    const result = await converge([streamDecl("ORIGIN"), streamDecl("MIRRORED")]);
    expect(result.refused.map((p) => p.stream)).toEqual(["MIRRORED"]);
    expect(result.output).toContain("cannot change mirror: the stream on the server mirrors ORIGIN; nats-infra does not manage mirrors");
    const after = await info("MIRRORED");
    expect(after.config.mirror?.name).toBe("ORIGIN");
    expect(after.config.subjects ?? []).toEqual([]);
  });
});

describe("consumers", () => {
  test("updates a consumer in place and keeps its position", async () => {
    const declare = (consumer: Partial<NonNullable<StreamInput["consumers"]>[number]>) => [streamDecl("CONS", { consumers: [{ name: "worker", ...consumer }] })];
    await converge(declare({ ackWait: "30s", maxDeliver: 3 }));
    await publish("cons.x", 5);
    // Take and acknowledge two messages as the application would.
    const nc = await connect({ servers: nats.url, user: "reader", pass: nats.passwords.reader });
    try {
      const consumer = await jetstream(nc).consumers.get("CONS", "worker");
      const batch = await consumer.fetch({ max_messages: 2, expires: 2000 });
      for await (const message of batch) message.ack();
      await nc.flush();
    } finally {
      await nc.close();
    }
    const before = await consumerInfo("CONS", "worker");
    expect(before.ack_floor.stream_seq).toBe(2);

    const result = await converge(declare({ ackWait: "1m", maxDeliver: 10, filterSubjects: ["cons.*"], description: "updated" }));
    expect(result.output).toContain("consumers[worker].ackWait: 30s -> 1m");
    expect(result.output).toContain("consumers[worker].maxDeliver: 3 -> 10");
    expect(result.output).toContain("~ update consumer worker");
    const after = await consumerInfo("CONS", "worker");
    expect(after.config).toMatchObject({ ack_wait: 60e9, max_deliver: 10, filter_subject: "cons.*", description: "updated" });
    expect(after.created).toBe(before.created);
    expect(after.ack_floor.stream_seq).toBe(2);
    expect(after.num_pending).toBe(3);

    expect((await converge(declare({ ackWait: "1m", maxDeliver: 10, filterSubjects: ["cons.*"], description: "updated" }))).changed).toBe(false);
  });

  test("a consumer change the server cannot make is refused, and with allowDelete the consumer is recreated", async () => {
    await converge([streamDecl("CFIX", { consumers: [{ name: "c", ackPolicy: "explicit" }] })]);
    const refused = await converge([streamDecl("CFIX", { consumers: [{ name: "c", ackPolicy: "all" }] })]);
    expect(refused.output).toContain("cannot change consumers[c].ackPolicy: the server cannot change a consumer's ackPolicy (explicit -> all)");
    expect((await consumerInfo("CFIX", "c")).config.ack_policy).toBe("explicit");

    const replaced = await converge([streamDecl("CFIX", { allowDelete: true, consumers: [{ name: "c", ackPolicy: "all" }] })]);
    expect(replaced.output).toContain("± replace consumer c");
    expect((await consumerInfo("CFIX", "c")).config.ack_policy).toBe("all");
  });

  test("adds a consumer to an existing stream without touching the stream", async () => {
    await converge([streamDecl("ADDC")]);
    await publish("addc.x", 2);
    const result = await converge([streamDecl("ADDC", { consumers: [{ name: "late", deliverPolicy: "new" }] })]);
    expect(result.output).toContain("= stream ADDC");
    expect(result.output).toContain("+ create consumer late");
    expect((await consumerInfo("ADDC", "late")).config.deliver_policy).toBe("new");
    expect((await info("ADDC")).state.messages).toBe(2);
  });
});

describe("the command line", () => {
  const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
  const cli = path.join(REPO_ROOT, "cli", "streams.ts");

  function stackFile(streams: StreamInput[]): string {
    const file = path.join(dir, "Pulumi.cli.yaml");
    writeFileSync(file, stringify({ config: { "nats-infra:services": SERVICES, "nats-infra:streams": streams } }));
    return file;
  }

  function run(args: string[], env: Record<string, string> = { NATS_PASSWORD: nats.passwords[ADMIN] }) {
    const result = spawnSync(tsx, [cli, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test("applies a stack file, reruns as a no-op, and exits 3 on a refusal with the data intact", async () => {
    const streams = [streamDecl("CLI", { maxMsgs: 10 })];
    const config: StreamConfig[] = parseStackConfig({ services: SERVICES, streams }).config.streams;
    nats.rewrite({ services: SERVICES, streams });
    await nats.reload();
    const file = stackFile(streams);

    const first = run(["--stack-file", file, "--url", nats.url, "--stream", "CLI"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain("+ create stream CLI [nats-infra:streams[0]]");
    const second = run(["--stack-file", file, "--url", nats.url, "--stream", "CLI"]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("No changes");

    await publish("cli.x", 3);
    const refused = run(["--stack-file", stackFile([{ ...streams[0], retention: "workqueue" }]), "--url", nats.url, "--stream", "CLI"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error: refused stream CLI");
    const after = await info("CLI");
    expect(after.config.retention).toBe(config[0].retention);
    expect(after.state.messages).toBe(3);
  });

  test("refuses credentials in the URL and says where they go", () => {
    const result = run(["--stack-file", stackFile([streamDecl("CLI")]), "--url", `nats://${ADMIN}:secret@127.0.0.1:4222`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("pass them in NATS_USER and NATS_PASSWORD");
    expect(`${result.stdout}${result.stderr}`).not.toContain("secret@");
  });

  test("says which password is missing", () => {
    const result = run(["--stack-file", stackFile([streamDecl("CLI")]), "--url", nats.url], {});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("no password for account APP: set NATS_PASSWORD");
  });

  test("a server that grants the admin `_INBOX.>` only (deployed before private inboxes): stops before reading, says what to do; NATS_INBOX_PREFIX_APP=_INBOX runs; the reverse mismatch names the admin's own prefix", async () => {
    const streams = [streamDecl("CLI")];
    nats.rewrite({ services: SERVICES, streams });
    const authConf = path.join(nats.dir, "auth.conf");
    const rendered = readFileSync(authConf, "utf8");
    expect(rendered).toContain(`"_INBOX__jsadmin_APP.>"`);
    writeFileSync(authConf, rendered.replace(`"_INBOX__jsadmin_APP.>"`, `"_INBOX.>"`));
    await nats.reload();
    const file = stackFile(streams);

    const stale = run(["--stack-file", file, "--url", nats.url, "--dry-run"]);
    expect(stale.status, stale.stdout).toBe(1);
    expect(stale.stdout).toBe("");
    expect(stale.stderr).toContain(`error: the server does not let ${ADMIN} subscribe to _INBOX__jsadmin_APP.>, where its replies arrive`);
    expect(stale.stderr).toContain("NATS_INBOX_PREFIX_APP=_INBOX");

    const overridden = run(["--stack-file", file, "--url", nats.url, "--dry-run"], { NATS_PASSWORD: nats.passwords[ADMIN], NATS_INBOX_PREFIX_APP: "_INBOX" });
    expect(overridden.status, overridden.stderr).toBe(0);
    expect(overridden.stdout).toContain("Account APP:");

    // The rendered auth.conf again: the admin on its own prefix, the default, runs.
    writeFileSync(authConf, rendered);
    await nats.reload();
    const current = run(["--stack-file", file, "--url", nats.url, "--dry-run"]);
    expect(current.status, current.stderr).toBe(0);
    // The other way round: the shared prefix where the admin has its own says which one that is.
    const shared = run(["--stack-file", file, "--url", nats.url, "--dry-run"], { NATS_PASSWORD: nats.passwords[ADMIN], NATS_INBOX_PREFIX: "_INBOX" });
    expect(shared.status).toBe(1);
    expect(shared.stderr).toContain(`error: the server does not let ${ADMIN} subscribe to _INBOX.>, where its replies arrive`);
    expect(shared.stderr).toContain(`gives ${ADMIN} a prefix of its own, _INBOX__jsadmin_APP for nats-infra's users: connect with it (NATS_INBOX_PREFIX_APP for npm run streams`);
  });

  test("a wrong password fails cleanly without echoing it", () => {
    const wrong = run(["--stack-file", stackFile([streamDecl("CLI")]), "--url", nats.url], { NATS_PASSWORD: "not-the-password" });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`cannot connect to ${nats.url} as ${ADMIN}`);
    expect(wrong.stderr).not.toContain("not-the-password");
  });
});

test("a stream the server's auth does not know yet is reported with what to do", async () => {
  // Not written to auth.conf, so the admin has no rights on it.
  const config = parseStackConfig({ services: SERVICES, streams: [streamDecl("UNKNOWN_TO_AUTH")] }).config;
  await expect(
    reconcile(config.streams, { url: nats.url, env: { NATS_PASSWORD: nats.passwords[ADMIN] }, dryRun: true, reportOthers: false, log: () => undefined }),
  ).rejects.toThrow(/reading stream UNKNOWN_TO_AUTH \(account APP\) failed: Permissions Violation .*apply the new auth.conf and reload the server first/);
});
