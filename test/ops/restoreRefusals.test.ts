// What restore refuses before it touches anything (ops/restore.ts restoreRefusals): one message
// per stream that says everything replacing it needs, so following it once is enough.
import { describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import type { StreamRecord } from "../../ops/backupManifest";
import { restoreRefusals } from "../../ops/restore";

const stack = (allowDelete: boolean) =>
  parseStackConfig({
    services: [{ name: "shop", publish: ["orders.>"] }],
    streams: [{ name: "ORDERS", subjects: ["orders.>"], allowDelete }],
  }).config;
const orders = { account: "APP", name: "ORDERS" } as StreamRecord;

describe("restore of a stream that exists", () => {
  test("without --force and without allowDelete: the first message names both", () => {
    expect(restoreRefusals(stack(false), [orders], new Set([orders]), false)).toEqual([
      { stream: "APP/ORDERS", reason: "exists; replacing it needs --force and allowDelete: true on it in the stack config (its current messages and consumers are deleted)" },
    ]);
  });

  test("with allowDelete, only --force is missing; with --force, only allowDelete", () => {
    expect(restoreRefusals(stack(true), [orders], new Set([orders]), false)[0].reason).toBe("exists; --force replaces it (its current messages and consumers are deleted)");
    expect(restoreRefusals(stack(false), [orders], new Set([orders]), true)[0].reason).toContain("does not allow deleting it (allowDelete: true)");
    expect(restoreRefusals(stack(true), [orders], new Set([orders]), true)).toEqual([]);
  });

  test("a stream that does not exist yet is restored either way", () => {
    expect(restoreRefusals(stack(false), [orders], new Set(), false)).toEqual([]);
  });
});
