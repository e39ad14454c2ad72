// The reconciler's cluster pieces without a server: the URL list it connects with, and what the
// plan says when a stream's replica count changes (the real cluster: cluster.server.test.ts).
import { describe, expect, test } from "vitest";
import { serverList } from "../../streams/connect";
import { planStream } from "../../streams/diff";
import { formatStream } from "../../streams/format";
import { declare, observed, serverStream } from "./observed";

describe("the URL list", () => {
  test("one URL, or every node's comma-separated, in the order given; spaces and empty entries are ignored", () => {
    expect(serverList("nats://127.0.0.1:4222")).toEqual(["nats://127.0.0.1:4222"]);
    expect(serverList("nats://a:4222, nats://b:4223 ,nats://c:4224,")).toEqual(["nats://a:4222", "nats://b:4223", "nats://c:4224"]);
  });

  test("an entry that is not a URL is named; a list without any is refused", () => {
    expect(() => serverList("nats://a:4222,127.0.0.1:4223")).toThrow('--url "127.0.0.1:4223" is not a URL; use nats://host:port (several: comma-separated)');
    expect(() => serverList(" , ")).toThrow("--url names no server");
  });

  test("credentials in any entry are refused without being repeated", () => {
    const attempt = () => serverList("nats://a:4222,nats://admin:s3cret@b:4223");
    expect(attempt).toThrow("the URL holds credentials; pass them in NATS_USER and NATS_PASSWORD instead");
    expect(attempt).not.toThrow(/s3cret/);
  });
});

describe("a changed replica count", () => {
  const planFor = (have: number, want: number, more = {}) =>
    planStream(declare({ replicas: want, ...more }), observed(serverStream({ num_replicas: have }, { messages: 20, bytes: 2000 }), []));

  test("up: an update in place that says the new replicas copy the messages", () => {
    const plan = planFor(1, 3);
    expect(plan).toMatchObject({ kind: "update", changes: [{ field: "replicas", from: "1", to: "3" }], losses: [], refusals: [], update: { num_replicas: 3 } });
    expect(plan.notes).toEqual([{ field: "replicas", what: "scaled up in place: the 2 new replicas copy the stored messages in the background; the consumers follow" }]);
    expect(planFor(2, 3).notes[0].what).toContain("the new replica copies the stored messages");
  });

  test("down: an update in place that deletes nothing and says what fewer copies survive", () => {
    const plan = planFor(3, 1);
    expect(plan).toMatchObject({ kind: "update", changes: [{ field: "replicas", from: "3", to: "1" }], losses: [], refusals: [], update: { num_replicas: 1 } });
    expect(plan.notes[0].what).toBe(
      "scaled down in place, no message is deleted (the server keeps the leader's copy); the consumers follow. " +
        "Fewer copies: one server then holds the messages; the stream is unavailable while it is down, and losing its disk loses them",
    );
    expect(planFor(3, 2).notes[0].what).toContain("the stream is then unavailable while either of its 2 servers is down");
    expect(planFor(5, 3).notes[0].what).toContain("the stream then stays available with up to 1 of its 3 servers down");
  });

  test("the plan prints the change and the note under the stream", () => {
    expect(formatStream(planFor(1, 3))).toEqual([
      "  ~ update stream ORDERS (holds 20 messages, 2000 bytes)",
      "      replicas: 1 -> 3",
      "      NOTE: scaled up in place: the 2 new replicas copy the stored messages in the background; the consumers follow [replicas]",
    ]);
  });

  test("no note for other fields, nor for a stream that is refused (nothing happens to it)", () => {
    expect(planFor(1, 1, { maxMsgs: 50 }).notes).toEqual([]);
    const refused = planFor(1, 3, { storage: "memory" });
    expect(refused.kind).toBe("refused");
    expect(refused.notes).toEqual([]);
  });
});
