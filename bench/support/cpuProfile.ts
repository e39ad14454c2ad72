// CPU profile of one span of code (the program evaluation), taken with the inspector so module
// loading before it stays out, and a breakdown of where the time went by category.
import { Session } from "node:inspector/promises";

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export async function profile<T>(work: () => Promise<T>): Promise<{ value: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    const value = await work();
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
    return { value, profile };
  } finally {
    session.disconnect();
  }
}

/** First matching rule wins; frames are classified by the function that was on top of the stack. */
const CATEGORIES: [string, (fn: string, url: string) => boolean][] = [
  ["mock bcrypt (test harness)", (_, url) => url.includes("/bcryptjs/")],
  ["garbage collection", (fn) => fn === "(garbage collector)"],
  [
    "stack traces taken by the Pulumi SDK (debuggablePromise, Resource.callsites) and their source mapping",
    (fn, url) => /prepare_stack_trace|source_map|node:internal\/url|^node:path$/.test(url) || fn === "get stack" || fn === "debuggablePromise" || fn === "callsites",
  ],
  ["our code: config/, render/, components/, index.ts (self time)", (_, url) => /\/work\/[^/]+\/(config|render|components)\/|\/index\.ts$/.test(url) && !url.includes("node_modules")],
  ["Pulumi SDK and mock monitor, other", (_, url) => /@pulumi|google-protobuf|@grpc/.test(url)],
  ["module loading and compiling (tsx, zod, our modules)", (fn, url) => /modules|tsx|wasm:|typescript/.test(url) || ["wrapSafe", "compileFunction", "parse"].includes(fn)],
];

export function breakdown(p: CpuProfile): { category: string; ms: number; share: number }[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    all += ms;
    const { functionName, url } = byId.get(id)!.callFrame;
    const category = CATEGORIES.find(([, match]) => match(functionName, url))?.[0] ?? "other (idle, program, native)";
    totals.set(category, (totals.get(category) ?? 0) + ms);
  });
  return [...totals].map(([category, ms]) => ({ category, ms, share: ms / all })).sort((a, b) => b.ms - a.ms);
}
