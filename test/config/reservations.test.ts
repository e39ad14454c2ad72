// Byte limits of streams, KV buckets and object stores against the server's and the account's
// JetStream storage limits: JetStream reserves each one's maxBytes at creation, buckets and
// stores included (checked on nats-server 2.14: a second 6GB bucket under max_file_store 10GB is
// refused with err_code 10047), so the config layer refuses what the server would.
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
