// What every nats-infra subcommand is, where it writes, and the exit codes they share
// (documented in `--help`).

/** Where a command writes: the process's streams, or a buffer in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export const EXIT = {
  /** Done, or nothing to do. */
  ok: 0,
  /** A problem found: unhealthy, refused, a mismatch. */
  problem: 1,
  /** Bad usage or a bad stack config: nothing was changed. */
  usage: 2,
  /** The server, Docker or Pulumi could not be reached. */
  unreachable: 3,
} as const;

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  run(argv: string[], output: Output): Promise<number>;
}

/** Output meant for scripts (--json) or people. */
export function printData(output: Output, json: boolean, data: unknown, text: () => string): void {
  output.out(json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}
