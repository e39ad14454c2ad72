// The one place tests and benches get TCP ports for servers and containers on 127.0.0.1.
//
// Why not "listen on port 0 and close": the kernel may hand the same port to the next such
// call (CI once got client port == monitor port that way), and a port from the ephemeral range
// (32768-60999) can be taken by any outgoing connection before nats-server or dockerd binds it.
// So ports come from 20000-31999, never twice in one process, and each vitest worker
// (VITEST_POOL_ID) draws from its own slice so two workers never pick the same port.
import { createServer } from "node:net";

const RANGE_START = 20_000;
const RANGE_END = 32_000;
const SLICES = 8;
const SLICE_SIZE = (RANGE_END - RANGE_START) / SLICES;

const handedOut = new Set<number>();

function slice(): { start: number; size: number } {
  const worker = Number(process.env.VITEST_POOL_ID ?? 0) || 0;
  return { start: RANGE_START + (worker % SLICES) * SLICE_SIZE, size: SLICE_SIZE };
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (nodes listen for routes at base + index); returns the base. */
export async function freePortRange(count: number): Promise<number> {
  const { start, size } = slice();
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = start + Math.floor(Math.random() * (size - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    if (!(await Promise.all(ports.map(canBind))).every(Boolean)) continue;
    if (ports.some((port) => handedOut.has(port))) continue; // taken by a concurrent call meanwhile
    for (const port of ports) handedOut.add(port);
    return base;
  }
  throw new Error(`no ${count} consecutive free ports found in ${start}-${start + size - 1} on 127.0.0.1`);
}

/** A free port on 127.0.0.1 that this process has not handed out before. */
export function freePort(): Promise<number> {
  return freePortRange(1);
}
