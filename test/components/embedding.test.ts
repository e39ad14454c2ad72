// NatsCluster used from another Pulumi program, the way awsx or eks components are: the program
// passes the stack config shape as an object (no `nats-infra:*` keys in its stack), the
// component applies the defaults and validates, and its children are named after it.
import { expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfigInput } from "../../config/schema";
import { outputValue, runProgram, unwrapSecrets } from "../harness/pulumiMocks";

/** A program of someone else's: its own resource names, NATS config written inline. */
async function embeddingProgram(config: Record<string, unknown>, configDir?: string): Promise<Record<string, unknown>> {
  const { NatsCluster } = await import("../../components/natsCluster");
  const events = new NatsCluster("events", { config: config as StackConfigInput, configDir });
  return { client: events.endpoints.client, credentials: events.credentials };
}

test("an inline config gets the defaults; children are named after the component; outputs work", async () => {
  const run = await runProgram({}, { program: () => embeddingProgram({ services: [{ name: "billing", publish: ["billing.>"] }] }, "/srv/events") });
  const names = run.resources.map((r) => r.name);
  expect(names).toContain("events-nats");
  expect(names).toContain("events-password-billing");
  expect(names.filter((n) => !n.startsWith("events"))).toEqual([]);
  const container = unwrapSecrets(run.byName("events-nats").inputs) as { mounts: { source: string }[]; ports: { ip: string; external: number }[] };
  expect(container.mounts[0].source).toBe("/srv/events");
  // Defaults applied: loopback, the standard ports.
  expect(container.ports.map((p) => `${p.ip}:${p.external}`)).toEqual(["127.0.0.1:4222", "127.0.0.1:8222"]);
  expect(run.exports.client).toBe("nats://127.0.0.1:4222");
  const credentials = await outputValue(run.exports.credentials as pulumi.Output<Record<string, { account: string; url: string }>>);
  expect(credentials.billing).toMatchObject({ account: "APP", url: "nats://127.0.0.1:4222" });
});

test("the component validates its own args: every problem by path, as a RunError (no stack trace)", async () => {
  const error = await runProgram({}, { program: () => embeddingProgram({ services: [{ name: "Billing" }, { name: "audit" }], server: { maxPayload: "100MB" } }) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(pulumi.RunError.isInstance(error)).toBe(true);
  expect((error as Error).message).toContain("services[0].name");
  expect((error as Error).message).toContain("server.maxPayload");
});

test("fromStackConfig reads the current stack's nats-infra:* keys", async () => {
  const run = await runProgram(
    { services: [{ name: "reader", subscribe: ["news.>"] }] },
    {
      program: async () => {
        const { NatsCluster } = await import("../../components/natsCluster");
        NatsCluster.fromStackConfig("from-stack");
        return {};
      },
    },
  );
  expect(run.resources.map((r) => r.name)).toContain("from-stack-password-reader");
});
