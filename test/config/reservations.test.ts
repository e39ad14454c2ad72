// Byte limits of streams, KV buckets and object stores against the server's and the account's
// JetStream storage limits: JetStream reserves each one's maxBytes at creation, buckets and
// stores included, and an account counts it once per replica (each case below was first run on
// nats-server 2.14.10, see config/reservations.ts), so the config layer refuses what the server
// would, and accepts what it would.
import { describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import { problemAt, problemsOf as problemsOfConfig } from "../harness/configProblems";

const GB = 1024 ** 3;
const services = [{ name: "svc" }];
const problemsOf = (raw: Record<string, unknown>) => problemsOfConfig({ services, ...raw });
const messageAt = (raw: Record<string, unknown>, path: string) => problemAt(problemsOf(raw), path).message;
const accepts = (raw: Record<string, unknown>) => () => parseStackConfig({ services, ...raw });

describe("each one alone", () => {
  test("a bucket or store larger than the server's limit", () => {
    const raw = { jetstream: { maxFileStore: "10GB" }, kv: [{ bucket: "big", maxBytes: "11GB" }], objectStores: [{ store: "files", maxBytes: "11GB" }] };
    expect(messageAt(raw, "nats-infra:kv[0].maxBytes")).toBe(`exceeds the JetStream limit jetstream.maxFileStore (${10 * GB} bytes); lower it or raise the limit`);
    expect(messageAt(raw, "nats-infra:objectStores[0].maxBytes")).toContain("jetstream.maxFileStore");
  });

  test("a bucket larger than its account's limit", () => {
    const raw = { accounts: [{ name: "APP", jetstream: { maxFile: "1GB" } }], kv: [{ bucket: "big", maxBytes: "2GB" }] };
    expect(messageAt(raw, "nats-infra:kv[0].maxBytes")).toBe(`exceeds account APP's jetstream.maxFile (${GB} bytes); lower it or raise the account's limit`);
  });
});

describe("all together", () => {
  test("a stream, a bucket and a store that fit alone but not together; the last one is named", () => {
    const raw = {
      jetstream: { maxFileStore: "10GB" },
      streams: [{ name: "A", subjects: ["a"], maxBytes: "4GB" }],
      kv: [{ bucket: "settings", maxBytes: "4GB" }],
      objectStores: [{ store: "files", maxBytes: "4GB" }],
    };
    expect(messageAt(raw, "nats-infra:objectStores[0].maxBytes")).toBe(
      `the file streams reserve ${12 * GB} bytes in all (A, KV bucket settings, object store files), more than jetstream.maxFileStore (${10 * GB} bytes); lower their maxBytes or raise the limit`,
    );
  });

  test("an account's buckets and streams together over its limit", () => {
    const raw = { accounts: [{ name: "APP", jetstream: { maxFile: "1GB" } }], streams: [{ name: "A", subjects: ["a"], maxBytes: "600MB" }], kv: [{ bucket: "settings", maxBytes: "600MB" }] };
    expect(messageAt(raw, "nats-infra:kv[0].maxBytes")).toContain("account APP's file streams reserve");
  });

  test("what does not reserve: no byte limit, another storage, or being deleted", () => {
    const base = { jetstream: { maxFileStore: "10GB", maxMemoryStore: "1GB" }, streams: [{ name: "A", subjects: ["a"], maxBytes: "6GB" }] };
    expect(accepts({ ...base, kv: [{ bucket: "unbounded" }] })).not.toThrow();
    expect(accepts({ ...base, kv: [{ bucket: "in-memory", storage: "memory", maxBytes: "512MB" }] })).not.toThrow();
    expect(accepts({ ...base, kv: [{ bucket: "going", maxBytes: "6GB", delete: true, allowDelete: true }] })).not.toThrow();
    expect(problemsOf({ ...base, kv: [{ bucket: "staying", maxBytes: "6GB" }] }).map((p) => p.path)).toEqual(["nats-infra:kv[0].maxBytes"]);
  });
});

describe("in a cluster", () => {
  const cluster = { cluster: { nodes: 3 } };

  test("an account counts maxBytes once per replica: an R3 stream of 600MB does not fit an account's 1GB", () => {
    const raw = { ...cluster, accounts: [{ name: "APP", jetstream: { maxFile: "1GB" } }], streams: [{ name: "A", subjects: ["a"], replicas: 3, maxBytes: "600MB" }] };
    expect(messageAt(raw, "nats-infra:streams[0].maxBytes")).toBe(
      `exceeds with its 3 replicas (${3 * 600 * 1024 ** 2} bytes) account APP's jetstream.maxFile (${GB} bytes); lower it or raise the account's limit`,
    );
    const twoR1 = { ...raw, streams: [{ name: "A", subjects: ["a"], maxBytes: "600MB" }, { name: "B", subjects: ["b"], maxBytes: "600MB" }] };
    expect(messageAt(twoR1, "nats-infra:streams[1].maxBytes")).toContain("account APP's file streams reserve");
    expect(accepts({ ...raw, streams: [{ name: "A", subjects: ["a"], maxBytes: "600MB" }] })).not.toThrow();
  });

  test("R1 streams spread over the servers: three of 6GB fit 3 servers of 10GB, which one server would refuse", () => {
    const streams = ["A", "B", "C"].map((name) => ({ name, subjects: [name.toLowerCase()], maxBytes: "6GB" }));
    expect(accepts({ ...cluster, jetstream: { maxFileStore: "10GB" }, streams })).not.toThrow();
    expect(messageAt({ jetstream: { maxFileStore: "10GB" }, streams }, "nats-infra:streams[2].maxBytes")).toContain(`reserve ${18 * GB} bytes in all (A, B, C)`);
  });

  test("R3 streams take room on every server: three of 4GB do not fit 3 servers of 10GB", () => {
    const streams = ["A", "B", "C"].map((name) => ({ name, subjects: [name.toLowerCase()], replicas: 3, maxBytes: "4GB" }));
    expect(messageAt({ ...cluster, jetstream: { maxFileStore: "10GB" }, streams }, "nats-infra:streams[2].maxBytes")).toBe(
      `the file streams reserve ${36 * GB} bytes in all, each replica counted (A, B, C), more than the 3 servers' jetstream.maxFileStore together (${30 * GB} bytes); lower their maxBytes or raise the limit`,
    );
  });
});
