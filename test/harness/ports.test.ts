import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePortRange } from "./ports";

function bind(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

describe("test ports", () => {
  it("never hands out one port twice in a process, even to concurrent calls (CI once got client port == monitor port)", async () => {
    const sequential = [];
    for (let i = 0; i < 100; i++) sequential.push(await freePort());
    const concurrent = await Promise.all(Array.from({ length: 100 }, () => freePort()));
    const ranges = await Promise.all([freePortRange(3), freePortRange(3)]);
    const all = [...sequential, ...concurrent, ...ranges.flatMap((base) => [base, base + 1, base + 2])];
    expect(new Set(all).size).toBe(all.length);
  });

  it("hands out ports below Linux's ephemeral range that can be bound on 127.0.0.1", async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_000);
      await bind(port);
    }
  });
});
