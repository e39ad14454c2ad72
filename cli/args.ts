// Shared plumbing for the command-line tools: flag parsing and error reporting that shows a
// person what to fix, never a stack trace.
import { StackConfigError } from "../config/load";

export function parseFlags(argv: string[], spec: { strings: string[]; booleans: string[] }): Record<string, string | boolean> {
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.replace(/^--/, "");
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    if (spec.booleans.includes(name)) flags[name] = true;
    else if (spec.strings.includes(name)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    } else throw new UsageError(`unknown flag --${name}`);
  }
  return flags;
}

export class UsageError extends Error {}

/** Runs a tool's main; a known error becomes a message on stderr and a non-zero exit code. */
export function runMain(usage: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof StackConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
      process.exitCode = 64;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });
}
