// Reading refusals of the config layer in tests: every problem of a refused config, and the one
// at a path (failing with the whole list when there is none there).
import { expect } from "vitest";
import { parseStackConfig, StackConfigError, type ConfigProblem } from "../../config/load";

/** The problems parseStackConfig reports for `raw`; fails the test if it accepts the config. */
export function problemsOf(raw: unknown): ConfigProblem[] {
  try {
    parseStackConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems;
  }
  throw new Error("expected the config to be refused, but it was accepted");
}

export function problemAt(problems: ConfigProblem[], where: string): ConfigProblem {
  const found = problems.find((p) => p.path === where);
  if (!found) throw new Error(`no problem reported at ${where}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  return found;
}
