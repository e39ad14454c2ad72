// From raw stack config (the values under `nats-infra:`) to a typed, checked StackConfig, or one
// error that lists every problem with its path, the value found and what is allowed.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { stackConfigSchema, type StackConfig } from "./schema";
import { crossFieldProblems, warnings, type Finding, type Path } from "./validate";
import { parseWhatParses, valueAt } from "./partialParse";
import { schemaFindings, type SchemaIssue } from "./zodIssues";

export const CONFIG_NAMESPACE = "nats-infra";

export interface ConfigProblem {
  /** Where to look, as `pulumi config set --path` writes it: `nats-infra:services[2].publish[0]`. */
  path: string;
  /** The value found there, as JSON (shortened), or "(missing)". */
  value: string;
  message: string;
}

/** Thrown for invalid stack config; `message` is meant for a person and holds every problem. */
export class StackConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(formatProblems(problems));
    this.name = "StackConfigError";
  }
}

export interface ParsedStackConfig {
  config: StackConfig;
  warnings: ConfigProblem[];
}

/** Validates raw config (keys without the `nats-infra:` prefix). Throws StackConfigError. */
export function parseStackConfig(raw: unknown): ParsedStackConfig {
  const parsed = stackConfigSchema.safeParse(raw);
  if (parsed.success) {
    const config = parsed.data;
    const problems = crossFieldProblems(config);
    if (problems.length > 0) throw new StackConfigError(problems.map((p) => toProblem(raw, p)));
    return { config, warnings: warnings(config).map((w) => toProblem(raw, w)) };
  }
  const schemaProblems = schemaFindings(parsed.error.issues as unknown as SchemaIssue[]);
  // Also check how the parts that did parse fit together, so one run shows every problem.
  const partial = parseWhatParses(raw);
  const flagged = new Set(schemaProblems.map((p) => JSON.stringify(p.path)));
  const crossProblems = (partial ? crossFieldProblems(partial.config) : [])
    .map((p) => ({ ...p, path: partial!.originalPath(p.path) }))
    .filter((p) => !flagged.has(JSON.stringify(p.path)));
  throw new StackConfigError([...schemaProblems, ...crossProblems].map((p) => toProblem(raw, p)));
}

/**
 * What a value set with `pulumi config set --secret` reads as from the stack file, where it is
 * stored encrypted (`{ secure: "v1:..." }`). The commands that read the file themselves (status,
 * health, rotate, dev, ...) never need such a value: only the Pulumi program does, and the engine
 * decrypts it for the program. Checks that need its contents happen there.
 */
export const SECRET_IN_STACK_FILE = "(secret: encrypted in the stack file)";

/** Reads `Pulumi.<stack>.yaml` and returns the values under `nats-infra:` without the prefix. */
export function readStackFile(file: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new StackConfigError([{ path: file, value: "(file)", message: `cannot read the stack file: ${(error as Error).message}` }]);
  }
  const config = (document as { config?: Record<string, unknown> } | null)?.config ?? {};
  return stripNamespace(withoutCiphertexts(config) as Record<string, unknown>);
}

/** The value with every encrypted secret (`{ secure: "..." }`, at any depth) as SECRET_IN_STACK_FILE. */
function withoutCiphertexts(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCiphertexts);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === "secure" && typeof entries[0][1] === "string") return SECRET_IN_STACK_FILE;
  return Object.fromEntries(entries.map(([key, inner]) => [key, withoutCiphertexts(inner)]));
}

/** Keeps `nats-infra:<key>` entries, keyed by `<key>`; other namespaces belong to other programs. */
export function stripNamespace(config: Record<string, unknown>): Record<string, unknown> {
  const prefix = `${CONFIG_NAMESPACE}:`;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );
}

export function formatProblems(problems: ConfigProblem[]): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = problems.map((p) => `  - ${p.path}: ${p.message} (found: ${p.value})`);
  return `Invalid nats-infra stack config (${count}):\n${lines.join("\n")}`;
}

function toProblem(raw: unknown, finding: Finding): ConfigProblem {
  const value = isSecretPath(finding.path) ? "(secret, not shown)" : describeValue(valueAt(raw, finding.path));
  return { path: describePath(finding.path), value, message: finding.message };
}

/** Values no error message may quote: an SSH private key (cluster.ssh.privateKey), and anything below it. */
function isSecretPath(path: Path): boolean {
  return path.some((part) => part === "privateKey");
}

export function describePath(path: Path): string {
  let text = `${CONFIG_NAMESPACE}:`;
  path.forEach((part, i) => {
    if (typeof part === "number") text += `[${part}]`;
    // An unknown key can hold anything (a newline, a terminal escape): quote it, as --path does.
    else if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) text += `[${JSON.stringify(part)}]`;
    else text += i === 0 ? part : `.${part}`;
  });
  return text;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * `raw` with Prometheus on (monitoring.prometheus.enabled: true), whatever the stack file says:
 * what `nats-infra dev --monitoring` runs, so the dev servers have the users the monitoring logs
 * in as (the exporter of refused logins) exactly as a deployment with monitoring would.
 */
export function withPrometheusOn(raw: Record<string, unknown>): Record<string, unknown> {
  const monitoring = (raw.monitoring ?? {}) as Record<string, unknown>;
  const prometheus = (monitoring.prometheus ?? {}) as Record<string, unknown>;
  return { ...raw, monitoring: { ...monitoring, prometheus: { ...prometheus, enabled: true } } };
}
