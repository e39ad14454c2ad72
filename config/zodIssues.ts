// zod's issues, turned into findings a person can act on: a union failure is narrowed to the
// form the person evidently meant, and each unknown key is its own finding that lists the keys
// allowed at that place (and the likely intended one).
import { stackConfigSchema } from "./schema";
import type { Finding, Path } from "./findings";

/** The parts of a zod issue we read; zod's own issue types are unions too wide to narrow here. */
export interface SchemaIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: SchemaIssue[][];
}

export function schemaFindings(issues: readonly SchemaIssue[], base: Path = []): Finding[] {
  return issues.flatMap((issue): Finding[] => {
    const path = [...base, ...(issue.path as Path)];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(stackConfigSchema, path);
      return (issue.keys ?? []).map((key) => ({ path: [...path, key], message: unknownKeyMessage(key, known) }));
    }
    if (issue.code === "invalid_union" && issue.errors) {
      const branches = plausibleBranches(issue.errors);
      if (branches.length === 1) return schemaFindings(branches[0], path);
      // Several forms fit equally badly: a key unknown to all of them is the likely mistake.
      const unknownToAll = branches.length ? branches.map(unknownKeysOf).reduce((a, b) => a.filter((key) => b.includes(key))) : [];
      if (unknownToAll.length) return schemaFindings([{ code: "unrecognized_keys", path: [], message: "", keys: unknownToAll }], path);
      return [{ path, message: unionMessage(issue) }];
    }
    return [{ path, message: friendlyZodMessage(issue.message) }];
  });
}

/**
 * Of a union's alternatives, those whose value at least had the right type (an object for an
 * object form, a string for a duration) and that failed least: the form the person meant.
 */
function plausibleBranches(branches: SchemaIssue[][]): SchemaIssue[][] {
  const wrongType = (issue: SchemaIssue) => issue.path.length === 0 && ["invalid_type", "invalid_value", "invalid_union"].includes(issue.code);
  const plausible = branches.filter((branch) => !branch.some(wrongType));
  const fewest = Math.min(...plausible.map((branch) => branch.length));
  return plausible.filter((branch) => branch.length === fewest);
}

function unknownKeysOf(branch: SchemaIssue[]): string[] {
  return branch.filter((i) => i.code === "unrecognized_keys" && i.path.length === 0).flatMap((i) => i.keys ?? []);
}

function unionMessage(issue: SchemaIssue): string {
  if (issue.message !== "Invalid input") return issue.message;
  const alternatives = (issue.errors ?? []).flatMap((branch) => branch.filter((i) => i.path.length === 0).map((i) => friendlyZodMessage(i.message)));
  return `matches none of the allowed forms: ${[...new Set(alternatives)].join("; or ")}`;
}

function unknownKeyMessage(key: string, known: string[]): string {
  if (known.length === 0) return "not a setting nats-infra knows";
  const guess = closest(key, known);
  return `not a setting nats-infra knows${guess ? ` (did you mean "${guess}"?)` : ""}; allowed here: ${known.join(", ")}`;
}

/** A known key within two edits (or differing only in case) of `key`: the likely typo fix. */
function closest(key: string, known: string[]): string | undefined {
  const ranked = known.map((k) => ({ k, d: k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(k, key) })).sort((a, b) => a.d - b.d);
  return ranked[0] && ranked[0].d <= 2 ? ranked[0].k : undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Keys an object schema at `path` accepts (every alternative's keys, under a union). */
export function knownKeys(schema: unknown, path: Path): string[] {
  const def = (schema as { _zod: { def: Record<string, any> } })._zod.def;
  switch (def.type) {
    case "object":
      if (path.length === 0) return Object.keys(def.shape);
      return typeof path[0] === "string" && def.shape[path[0]] ? knownKeys(def.shape[path[0]], path.slice(1)) : [];
    case "array":
      return typeof path[0] === "number" ? knownKeys(def.element, path.slice(1)) : [];
    case "union":
      return [...new Set((def.options as unknown[]).flatMap((option) => knownKeys(option, path)))];
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return knownKeys(def.innerType, path);
    case "pipe":
      return knownKeys(def.in, path);
    default:
      return [];
  }
}

/** zod's own wording, made to read as advice in a config file. */
export function friendlyZodMessage(message: string): string {
  return message
    .replace(/^Invalid input: expected (\w+), received undefined$/, "required: add this field ($1)")
    .replace(/^Invalid input: expected (\w+), received (\w+)$/, (_, want: string, got: string) => `expected ${article(want)} here, not ${article(got)}`)
    .replace(/^Invalid option: expected one of (.*)$/, "must be one of $1")
    .replace(/^Invalid input: expected (.*)$/, "must be $1");
}

function article(word: string): string {
  return word === "null" || word === "undefined" ? word : `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}
