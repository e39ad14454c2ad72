// Shared plumbing for the command-line tools: flag parsing and error reporting that shows a
// person what to fix, never a stack trace, with the exit codes of cli/command.ts. Commands take
// their output streams as an argument, so tests run them in-process and read exactly what a
// person would see.
import { StackConfigError } from "../config/load";
import { TargetError } from "../ops/target";
import { EXIT, processOutput, type Output } from "./command";

export { processOutput, type Output };

/**
 * `--name value` (strings), `--name` (booleans), `--name [value]` (optionals: a value when the
 * next word is not a flag), and, when `positionals` is given, bare words collected in order.
 */
export function parseFlags(
  argv: string[],
  spec: { strings: string[]; booleans: string[]; optionals?: string[]; positionals?: string[] },
): Record<string, string | boolean> & { _?: string[] } {
  const flags: Record<string, string | boolean> & { _?: string[] } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.replace(/^--/, "");
    if (!arg.startsWith("--") && spec.positionals) {
      (flags._ ??= []).push(arg);
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    if (spec.booleans.includes(name)) flags[name] = true;
    else if (spec.optionals?.includes(name)) flags[name] = argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") ? argv[++i] : true;
    else if (spec.strings.includes(name)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    } else throw new UsageError(`unknown flag --${name}`);
  }
  return flags;
}

export class UsageError extends Error {}

/**
 * What a mistyped name was probably meant to be: the names at the fewest edits from it (a letter
 * added, dropped or changed, or two neighbours swapped as in "stauts"), at most 2 and at most
 * half its length, so a short word does not match everything; else the names that begin with it.
 * Ties in the order given.
 */
export function closestNames(word: string, names: string[]): string[] {
  const limit = Math.min(2, Math.floor(word.length / 2));
  const scored = names.map((name) => ({ name, distance: editDistance(word.toLowerCase(), name) })).filter((n) => n.distance <= limit);
  if (scored.length) {
    const best = Math.min(...scored.map((n) => n.distance));
    return scored.filter((n) => n.distance === best).map((n) => n.name);
  }
  return word.length >= 3 ? names.filter((name) => name.startsWith(word.toLowerCase())) : [];
}

/** Edits from a to b: insert, delete, replace, or swap two neighbours (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Runs a command's body: a known error becomes one line on stderr and its exit code. */
export async function runCommand(usage: string, main: () => Promise<void>, output: Output = processOutput): Promise<number> {
  try {
    await main();
    return EXIT.ok;
  } catch (error: unknown) {
    return reportFailure(error, usage, output);
  }
}

/** One line a person can act on, and the documented exit code; never a stack trace. */
export function reportFailure(error: unknown, usage: string, output: Output): number {
  if (error instanceof UsageError) {
    output.err(`error: ${error.message}\n\n${usage}\n`);
    return EXIT.usage;
  }
  if (error instanceof StackConfigError) {
    output.err(`${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof TargetError) {
    output.err(`error: ${error.message}\n`);
    return error.kind === "usage" ? EXIT.usage : EXIT.unreachable;
  }
  if (isUnreachable(error)) {
    output.err(`error: cannot reach the server: ${(error as Error).message}\n`);
    return EXIT.unreachable;
  }
  output.err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.problem;
}

/** Connection refused or timed out, by fetch (monitoring) or a NATS client. */
function isUnreachable(error: unknown): boolean {
  const text = `${(error as { code?: string })?.code ?? ""} ${(error as Error)?.message ?? ""} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|fetch failed|CONNECTION_REFUSED|connection refused/i.test(text);
}
