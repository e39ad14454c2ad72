// Shared plumbing for the command-line tools: flag parsing and error reporting that shows a
// person what to fix, never a stack trace. Commands take their output streams as an argument,
// so tests run them in-process and read exactly what a person would see.
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

/** Where a command writes: the process's streams, or a buffer in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Exit codes: 0 fine, 1 a problem found while running, 2 a bad stack config, 64 bad usage. */
export async function runCommand(usage: string, main: () => Promise<void>, output: Output = processOutput): Promise<number> {
  try {
    await main();
    return 0;
  } catch (error: unknown) {
    if (error instanceof StackConfigError) {
      output.err(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      output.err(`error: ${error.message}\n\n${usage}\n`);
      return 64;
    }
    output.err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Runs a tool's main as the process: a known error becomes a message on stderr and an exit code. */
export function runMain(usage: string, main: () => Promise<void>): void {
  void runCommand(usage, main).then((code) => {
    process.exitCode = code;
  });
}
