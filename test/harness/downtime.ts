// Who is down when, as clients would see it: every node's /healthz?js-enabled-only (started and
// serving) polled every 100 ms (each poll waits up to 1 s) while a rollout, an upgrade or a restart runs. The rolling tests
// use it to check that no change ever takes more than one node down.
import { expect } from "vitest";
import { sleep } from "./natsServer";

export interface DownWindow {
  node: string;
  from: number;
  /** When the node answered again; undefined if it never did while watched. */
  to?: number;
  /** What the poll that opened the window got: an HTTP status or why nothing answered. */
  why: string;
}

export interface WatchedNode {
  name: string;
  monitorUrl: string;
}

/**
 * A node is down when it refuses the connection or answers not ok. An answer slower than the
 * poll's timeout says nothing either way: on a 2-core machine busy creating containers, a
 * serving node can take that long (seen once in an image upgrade on the real engine), so it
 * leaves the node's state as it was.
 */
async function answer(monitorUrl: string): Promise<{ state: "up" | "down" | "slow"; why: string }> {
  try {
    const response = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`, { signal: AbortSignal.timeout(1_000) });
    if (response.ok) return { state: "up", why: "ok" };
    const body = await response.text().catch(() => "");
    const error = (() => {
      try {
        return (JSON.parse(body) as { error?: string }).error;
      } catch {
        return undefined;
      }
    })();
    return { state: "down", why: `HTTP ${response.status}${error ? ` ${error}` : ""}` };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return { state: (error as Error).name === "TimeoutError" ? "slow" : "down", why: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

/** Starts polling; `stop()` ends it and returns the down windows in the order they opened. */
export function watchDowntime(nodes: WatchedNode[]): { stop(): Promise<DownWindow[]> } {
  const windows: DownWindow[] = [];
  let polling = true;
  const loop = (async () => {
    while (polling) {
      const answers = await Promise.all(nodes.map((n) => answer(n.monitorUrl)));
      const now = performance.now();
      nodes.forEach((n, i) => {
        const open = windows.find((w) => w.node === n.name && w.to === undefined);
        if (answers[i].state === "down" && !open) windows.push({ node: n.name, from: now, why: answers[i].why });
        if (answers[i].state === "up" && open) open.to = now;
      });
      await sleep(100);
    }
  })();
  return {
    async stop() {
      polling = false;
      await loop;
      return windows;
    },
  };
}

export function describeDowntime(windows: DownWindow[]): string {
  return windows.map((w) => `${w.node} ${w.to === undefined ? "still down" : `${Math.round(w.to - w.from)} ms`} (${w.why})`).join(", ");
}

/**
 * Every node went down, first in `order`, and no two windows overlap. A poll can also miss once
 * on a loaded machine: a blip of a node already done is not counted as a second restart, and it
 * is still checked never to overlap another node's down time.
 */
export function expectOneAtATime(windows: DownWindow[], order: string[]): void {
  expect([...new Set(windows.map((w) => w.node))]).toEqual(order);
  windows.forEach((w, i) => {
    expect(w.to, `${w.node} came back`).toBeDefined();
    if (i > 0) expect(w.from).toBeGreaterThanOrEqual(windows[i - 1].to!);
  });
}
