// Who is down when, as clients would see it: every node's /healthz?js-enabled-only (started and
// serving) polled every 100 ms while a rollout, an upgrade or a restart runs. The rolling tests
// use it to check that no change ever takes more than one node down.
import { expect } from "vitest";
import { sleep } from "./natsServer";

export interface DownWindow {
  node: string;
  from: number;
  /** When the node answered again; undefined if it never did while watched. */
  to?: number;
}

export interface WatchedNode {
  name: string;
  monitorUrl: string;
}

/** Starts polling; `stop()` ends it and returns the down windows in the order they opened. */
export function watchDowntime(nodes: WatchedNode[]): { stop(): Promise<DownWindow[]> } {
  const windows: DownWindow[] = [];
  let polling = true;
  const loop = (async () => {
    while (polling) {
      const answers = await Promise.all(
        nodes.map((n) => fetch(`${n.monitorUrl}/healthz?js-enabled-only=true`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)),
      );
      const now = performance.now();
      nodes.forEach((n, i) => {
        const open = windows.find((w) => w.node === n.name && w.to === undefined);
        if (!answers[i] && !open) windows.push({ node: n.name, from: now });
        if (answers[i] && open) open.to = now;
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
  return windows.map((w) => `${w.node} ${w.to === undefined ? "still down" : `${Math.round(w.to - w.from)} ms`}`).join(", ");
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
