// Runs `nats-infra <argv>` in this process, exactly as the entry point does, and returns what a
// person would see: the exit code, stdout and stderr.
import { main } from "../../cli/main";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function natsInfra(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}
