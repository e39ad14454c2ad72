// The frame of every operations command (status, health, backup, ...): flags shared by all of
// them (the target, --json), --help, and one mapping from what went wrong to a message and an
// exit code. A command's body only does its work.
import { resolveTarget, TARGET_HELP, type Target, type TargetFlags } from "../ops/target";
import { parseFlags, reportFailure, UsageError, type Output } from "./args";
import { EXIT } from "./command";
import path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");

export interface OperateSpec {
  usage: string;
  strings?: string[];
  booleans?: string[];
  /** Bare words the command takes (e.g. a directory, a service name). */
  positionals?: string[];
}

export interface OperateContext {
  flags: Record<string, string | boolean>;
  positionals: string[];
  json: boolean;
  target: Target;
  output: Output;
}

const TARGET_FLAGS = ["stack", "url", "monitor-url", "credentials"];

/**
 * `resolve` finds the target from the parsed flags; tests pass one that returns a target they
 * built (a deployed stack's outputs need the Pulumi CLI).
 */
export function operate(
  spec: OperateSpec,
  body: (context: OperateContext) => Promise<number>,
  resolve: (flags: TargetFlags) => Target = (flags) => resolveTarget(flags, REPO_ROOT),
): (argv: string[], output: Output) => Promise<number> {
  const usage = `${spec.usage}\n\n${TARGET_HELP}\n  --json               machine-readable output where the output is data`;
  return async (argv, output) => {
    try {
      const flags = parseFlags(argv, {
        strings: [...TARGET_FLAGS, ...(spec.strings ?? [])],
        booleans: ["json", "help", ...(spec.booleans ?? [])],
        optionals: ["dev"],
        positionals: spec.positionals,
      });
      if (flags.help) {
        output.out(`${usage}\n`);
        return EXIT.ok;
      }
      const positionals = flags._ ?? [];
      if (positionals.length > (spec.positionals?.length ?? 0)) throw new UsageError(`unexpected argument "${positionals[spec.positionals?.length ?? 0]}"`);
      const target = resolve(flags as TargetFlags);
      return await body({ flags, positionals, json: flags.json === true, target, output });
    } catch (error) {
      return reportFailure(error, usage, output);
    }
  };
}
