// `nats-infra <command> [flags]`: one entry point for rendering, streams, the dev server and the
// operations an operator runs every day. Each command is a module of cli/commands/.
import { closestNames, processOutput, type Output } from "./args";
import { EXIT } from "./command";
import { COMMANDS } from "./commands";

export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: npx nats-infra <command> [flags]     (npx nats-infra <command> --help for its flags)",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "exit codes: 0 fine, 1 a problem found, 2 bad usage or config, 3 server, Docker or Pulumi unreachable",
  ].join("\n");
}

export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    output.out(`${mainUsage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const meant = closestNames(name, COMMANDS.map((c) => c.name));
    const hint = meant.length ? `; did you mean ${meant.join(" or ")}?` : "";
    output.err(`error: unknown command "${name}"${hint}\n\n${mainUsage()}\n`);
    return EXIT.usage;
  }
  return command.run(rest, output);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
