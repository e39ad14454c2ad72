// When stack config fails the schema, the cross-field checks still run on everything that did
// parse, so one run lists every problem instead of revealing them in two rounds. Failing values
// are left out: a failing object key falls back to its default (so a cross-field check may then
// see that default), a failing array entry is skipped, and a missing required key takes its
// parent with it. Finding paths are mapped back to the entries' places in the original config.
import { stackConfigSchema, type StackConfig } from "./schema";
import type { Path } from "./findings";
import { schemaFindings, type SchemaIssue } from "./zodIssues";

export interface PartialConfig {
  /** The config without the values that failed the schema. */
  config: StackConfig;
  /** A path into `config` as the same place in the original raw config. */
  originalPath(path: Path): Path;
}

/** Where each kept array entry came from, so that paths can be mapped back. */
type Origins = { kept: number[]; items: (Origins | undefined)[] } | { fields: Record<string, Origins | undefined> } | undefined;

/** Each round leaves out what failed in the previous one; nesting is shallow, so few rounds suffice. */
const MAX_ROUNDS = 8;

export function parseWhatParses(raw: unknown): PartialConfig | undefined {
  const leftOut = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { value, origins } = without(raw, [], leftOut);
    const originalPath = (path: Path) => mapBack(origins, path);
    const parsed = stackConfigSchema.safeParse(value);
    if (parsed.success) return { config: parsed.data, originalPath };
    const before = leftOut.size;
    for (const finding of schemaFindings(parsed.error.issues as unknown as SchemaIssue[])) {
      let path = finding.path;
      while (path.length > 0 && valueAt(value, path) === undefined) path = path.slice(0, -1);
      if (path.length === 0) return undefined; // the config as a whole is unusable
      leftOut.add(JSON.stringify(originalPath(path)));
    }
    if (leftOut.size === before) return undefined;
  }
  return undefined;
}

/** `value` without the entries whose original paths are in `leftOut`. */
function without(value: unknown, path: Path, leftOut: Set<string>): { value: unknown; origins: Origins } {
  if (Array.isArray(value)) {
    const kept: number[] = [];
    const items: unknown[] = [];
    const origins: Origins[] = [];
    value.forEach((item, i) => {
      if (leftOut.has(JSON.stringify([...path, i]))) return;
      const inner = without(item, [...path, i], leftOut);
      kept.push(i);
      items.push(inner.value);
      origins.push(inner.origins);
    });
    return { value: items, origins: { kept, items: origins } };
  }
  if (value !== null && typeof value === "object") {
    const fields: Record<string, Origins> = {};
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (leftOut.has(JSON.stringify([...path, key]))) continue;
      const inner = without(item, [...path, key], leftOut);
      copy[key] = inner.value;
      fields[key] = inner.origins;
    }
    return { value: copy, origins: { fields } };
  }
  return { value, origins: undefined };
}

function mapBack(origins: Origins, path: Path): Path {
  const original: Path = [];
  let node = origins;
  for (const part of path) {
    if (typeof part === "number" && node && "kept" in node) {
      original.push(node.kept[part] ?? part);
      node = node.items[part];
    } else {
      original.push(part);
      node = node && "fields" in node ? node.fields[String(part)] : undefined;
    }
  }
  return original;
}

export function valueAt(raw: unknown, path: Path): unknown {
  let current: unknown = raw;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}
