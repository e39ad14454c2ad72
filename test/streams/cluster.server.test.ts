// The stream reconciler on a real three-node cluster, run as NatsStreams runs it (the recorded
// command through /bin/sh, the account's streams on stdin, NATS_URL holding every node's client
// URL): an R3 stream is created on all three nodes, an R1 stream holding messages is scaled to
// R3 and back in place with every message kept, and a run succeeds with one node SIGKILLed.
import { spawn } from "node:child_process";
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { streamCommands } from "../../components/natsStreams";
import { parseStackConfig } from "../../config/load";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { accountStdin } from "../../streams/contract";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { waitFor } from "../harness/natsServer";
import { REPO_ROOT } from "../harness/tools";

const ADMIN = jetstreamAdminUser("APP");
const SERVICES = [{ name: "producer", publish: [">"], subscribe: [] }];
type StreamInput = NonNullable<StackConfigInput["streams"]>[number];

/** The account's streams; the admin's rights (auth.conf) name both from the start. */
const declared = (r3new: Partial<StreamInput> = {}, scaled: Partial<StreamInput> = {}): StreamInput[] => [
  { name: "R3NEW", subjects: ["r3new.>"], replicas: 3, consumers: [{ name: "worker" }], ...r3new },
  { name: "SCALED", subjects: ["scaled.>"], replicas: 1, consumers: [{ name: "reader" }], ...scaled },
];

let cluster: RunningCluster;
beforeAll(async () => {
  cluster = await startCluster({ services: SERVICES, streams: declared() }, 3);
});
afterAll(() => cluster?.stop());

/** The recorded apply command, run through /bin/sh with the command's environment and stdin. */
function apply(streams: StreamInput[], url = cluster.urls): Promise<{ status: number | null; output: string }> {
  const { config } = parseStackConfig({ services: SERVICES, streams, cluster: cluster.config.cluster });
  const env = { PATH: process.env.PATH, NATS_URL: url, NATS_USER: ADMIN, NATS_PASSWORD: cluster.passwords[ADMIN] };
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", streamCommands(REPO_ROOT).apply], { cwd: REPO_ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    // Bounded: a run that hangs is killed and fails the test with what it printed.
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
    child.stdin.end(accountStdin("APP", config.streams));
  });
}

async function withManager<T>(run: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: cluster.urls.split(","), user: "producer", pass: cluster.passwords.producer });
  try {
    return await run(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

const info = (stream: string) => withManager((jsm) => jsm.streams.info(stream));

/** The servers holding a current copy: the leader and every replica that says it is current. */
function currentCopies(cluster: StreamInfo["cluster"]): string[] {
  if (!cluster?.leader) return [];
  return [cluster.leader, ...(cluster.replicas ?? []).filter((r) => r.current).map((r) => r.name)].sort();
}

/** Waits until the stream and each of its consumers have a leader and `copies` current copies; returns the stream's info. */
async function waitForCopies(stream: string, copies: number): Promise<StreamInfo> {
  let last: StreamInfo | undefined;
  await waitFor(
    () =>
      withManager(async (jsm) => {
        last = await jsm.streams.info(stream);
        if (last.config.num_replicas !== copies || currentCopies(last.cluster).length !== copies || (last.cluster?.replicas ?? []).length !== copies - 1) return false;
        for await (const consumer of jsm.consumers.list(stream)) if (currentCopies(consumer.cluster).length !== copies) return false;
        return true;
      }),
    30_000,
    () => `stream ${stream} did not reach ${copies} current copies: ${JSON.stringify(last?.cluster)}`,
  );
  return last!;
}

async function publish(subject: string, count: number): Promise<void> {
  const nc = await connect({ servers: cluster.urls.split(","), user: "producer", pass: cluster.passwords.producer });
  try {
    const js = jetstream(nc);
    for (let i = 0; i < count; i++) await js.publish(subject, `message ${i}`);
  } finally {
    await nc.close();
  }
}

/** Every stored message's payload, by sequence. */
const contents = (stream: string, first: number, last: number) =>
  withManager(async (jsm) => {
    const out: string[] = [];
    for (let seq = first; seq <= last; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      out.push(message ? message.string() : `(no message ${seq})`);
    }
    return out;
  });

const allNodes = () => cluster.nodes.map((n) => n.serverName).sort();

describe("the reconciler on a three-node cluster", () => {
  test("creates an R3 stream on all three nodes (the plan says 3 replicas); a rerun changes nothing", async () => {
    const created = await apply(declared());
    expect(created.status, created.output).toBe(0);
    expect(created.output).toContain("+ create stream R3NEW: subjects r3new.>; file, limits, 3 replicas");
    expect(created.output).toContain("+ create stream SCALED: subjects scaled.>; file, limits, 1 replica");

    const r3 = await waitForCopies("R3NEW", 3);
    expect(currentCopies(r3.cluster)).toEqual(allNodes());

    const again = await apply(declared());
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("No changes: the server matches the config (2 streams and 2 consumers up to date)");
  });

  test("scales an R1 stream holding messages to R3 in place: same messages and sequences, three current copies", async () => {
    await publish("scaled.a", 20);
    const before = await info("SCALED");
    expect(before.config.num_replicas).toBe(1);
    expect(before.cluster?.replicas ?? []).toEqual([]);
    expect(before.state).toMatchObject({ messages: 20, first_seq: 1, last_seq: 20 });
    const payloads = await contents("SCALED", 1, 20);

    const scaled = await apply(declared({}, { replicas: 3 }));
    expect(scaled.status, scaled.output).toBe(0);
    expect(scaled.output).toContain("~ update stream SCALED (holds 20 messages");
    expect(scaled.output).toContain("      replicas: 1 -> 3\n");
    expect(scaled.output).toContain("NOTE: scaled up in place: the 2 new replicas copy the stored messages in the background; the consumers follow [replicas]");
    expect(scaled.output).not.toContain("DELETES");

    const after = await waitForCopies("SCALED", 3);
    expect(currentCopies(after.cluster)).toEqual(allNodes());
    expect(after.state).toMatchObject({ messages: 20, first_seq: 1, last_seq: 20 });
    expect(await contents("SCALED", 1, 20)).toEqual(payloads);

    const again = await apply(declared({}, { replicas: 3 }));
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("No changes");
  });

  test("with one node SIGKILLed, the run connects to another node of the URL list and updates a stream that has a quorum", async () => {
    // Node 0 is the first URL of the list: the client must go on to the next one.
    const down = cluster.nodes[0];
    await cluster.kill(0);
    try {
      // The survivors elect new leaders for the meta layer and for the streams node 0 led.
      await waitFor(
        async () => {
          const jsz = (await (await fetch(`${cluster.nodes[1].monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
          if (!jsz.meta_cluster?.leader || jsz.meta_cluster.leader === down.serverName) return false;
          const leaders = await Promise.all(["R3NEW", "SCALED"].map(async (s) => (await info(s)).cluster?.leader));
          return leaders.every((leader) => leader !== undefined && leader !== down.serverName);
        },
        30_000,
        () => `no new leaders after node 0 went down`,
      );

      const alone = await apply(declared({ description: "changed while node 0 is down" }, { replicas: 3 }), down.url);
      // Nothing answers at that one URL: the documented exit code for "unreachable".
      expect(alone.status).toBe(3);
      expect(alone.output).toContain(`cannot connect to ${down.url} as ${ADMIN}`);

      const changed = await apply(declared({ description: "changed while node 0 is down" }, { replicas: 3 }));
      expect(changed.status, changed.output).toBe(0);
      expect(changed.output).toContain(`~ update stream R3NEW`);
      expect(changed.output).toContain(`description: (none) -> "changed while node 0 is down"`);
      expect((await info("R3NEW")).config.description).toBe("changed while node 0 is down");
      expect((await info("SCALED")).state).toMatchObject({ messages: 20, first_seq: 1, last_seq: 20 });
    } finally {
      await cluster.start(0);
    }
  }, 120_000);

  test("scales the R3 stream back to R1 in place, and the plan says what fewer copies mean", async () => {
    await waitForCopies("SCALED", 3);
    const payloads = await contents("SCALED", 1, 20);

    const lowered = await apply(declared({ description: "changed while node 0 is down" }, { replicas: 1 }));
    expect(lowered.status, lowered.output).toBe(0);
    expect(lowered.output).toContain("~ update stream SCALED (holds 20 messages");
    expect(lowered.output).toContain("      replicas: 3 -> 1\n");
    expect(lowered.output).toContain("NOTE: scaled down in place, no message is deleted (the server keeps the leader's copy); the consumers follow.");
    expect(lowered.output).toContain("one server then holds the messages; the stream is unavailable while it is down, and losing its disk loses them [replicas]");
    expect(lowered.output).not.toContain("DELETES");

    let after: StreamInfo | undefined;
    await waitFor(
      async () => {
        after = await info("SCALED");
        return after.config.num_replicas === 1 && !!after.cluster?.leader && (after.cluster.replicas ?? []).length === 0;
      },
      30_000,
      () => `SCALED did not go down to one copy: ${JSON.stringify(after?.cluster)}`,
    );
    expect(after!.state).toMatchObject({ messages: 20, first_seq: 1, last_seq: 20 });
    expect(await contents("SCALED", 1, 20)).toEqual(payloads);

    const again = await apply(declared({ description: "changed while node 0 is down" }, { replicas: 1 }));
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("No changes");
  });
});
