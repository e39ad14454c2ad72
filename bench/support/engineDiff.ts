// What `pulumi up` would do between two program runs, from their recorded inputs by resource
// name (as test/components/natsCluster.test.ts diffs them): create, delete, update in place, or replace.
// Whether a changed input replaces is the provider's rule; the table below holds the rules for
// the resource types this program registers (read in @pulumi/docker's schema: which inputs
// force a new resource), and anything not listed as
// in-place is taken as a replacement, so the bench never under-reports disruption.
import { isDeepStrictEqual } from "node:util";
import type { RecordedResource } from "./mockedProgram";

/** Inputs a provider changes without replacing the resource; every other input replaces. */
const IN_PLACE: Record<string, string[] | "all"> = {
  // @pulumi/docker: restart policy and memory/CPU limits update the running container.
  "docker:index/container:Container": ["restart", "memory", "memorySwap", "cpuShares"],
  // @pulumi/command: any input but `triggers` runs the update command.
  "command:local:Command": "all",
  // Components have no provider: their children carry the change.
  "nats-infra:index:NatsCluster": "all",
  "docker:index/remoteImage:RemoteImage": ["keepLocally"],
  "random:index/randomPassword:RandomPassword": [],
  "docker:index/volume:Volume": [],
  "docker:index/network:Network": [],
};
const REPLACING_EVEN_IF_ALL: Record<string, string[]> = { "command:local:Command": ["triggers"] };

export interface EngineDiff {
  created: string[];
  deleted: string[];
  updated: string[];
  replaced: string[];
  /** Per changed resource, the top-level inputs that differ. */
  changedInputs: Record<string, string[]>;
}

export function engineDiff(before: RecordedResource[], after: RecordedResource[]): EngineDiff {
  const old = new Map(before.map((r) => [r.name, r]));
  const now = new Map(after.map((r) => [r.name, r]));
  const diff: EngineDiff = { created: [], deleted: [], updated: [], replaced: [], changedInputs: {} };
  for (const name of now.keys()) if (!old.has(name)) diff.created.push(name);
  for (const name of old.keys()) if (!now.has(name)) diff.deleted.push(name);
  for (const [name, next] of now) {
    const prev = old.get(name);
    if (!prev) continue;
    const keys = [...new Set([...Object.keys(prev.inputs), ...Object.keys(next.inputs)])];
    const changed = keys.filter((k) => !isDeepStrictEqual(prev.inputs[k], next.inputs[k]));
    if (changed.length === 0) continue;
    diff.changedInputs[name] = changed;
    const inPlace = IN_PLACE[next.type] ?? [];
    const replacing = changed.filter((k) => (inPlace === "all" ? (REPLACING_EVEN_IF_ALL[next.type] ?? []).includes(k) : !inPlace.includes(k)));
    (replacing.length ? diff.replaced : diff.updated).push(name);
  }
  return diff;
}

/** Keys of a record-valued input that differ (e.g. the config command's environment). */
export function changedKeys(before: RecordedResource[], after: RecordedResource[], name: string, input: string): string[] {
  const a = (before.find((r) => r.name === name)?.inputs[input] ?? {}) as Record<string, unknown>;
  const b = (after.find((r) => r.name === name)?.inputs[input] ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k])).sort();
}
