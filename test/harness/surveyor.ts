// Runs the real NATS Surveyor (.tools/bin/nats-surveyor) against local nats-servers, with an
// environment taken from what the component declares, and reads its /metrics. A missing binary
// fails with how to install it; which binary ran (and where it came from) is printed.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import versions from "../../config/versions.json";
import { waitFor } from "./natsServer";
import { freePort } from "./ports";
import { TOOLS_BIN } from "./tools";
import { terminate } from "./processes";

export const SURVEYOR_BIN = path.join(TOOLS_BIN, "nats-surveyor");

const INSTALL_HELP =
  `${SURVEYOR_BIN} is missing. \`go install ${versions.surveyor.module}@${versions.surveyor.version}\` is refused by the Go proxy here (403), ` +
  "so install it from prebuilt binaries: `NATS_INFRA_PREBUILT_BIN=../shared/bin npm run tools` (relative to the repo root; CI sets it). " +
  "tools/install-tools.sh records where the binary came from in .tools/bin/nats-surveyor.source.";

/** The binary and where it came from (its `.source`); throws the install help when it is missing. */
export function surveyorBinary(): { path: string; source: string } {
  if (!existsSync(SURVEYOR_BIN)) throw new Error(INSTALL_HELP);
  const source = existsSync(`${SURVEYOR_BIN}.source`) ? readFileSync(`${SURVEYOR_BIN}.source`, "utf8").trim() : "unknown (no .tools/bin/nats-surveyor.source; rerun `npm run tools`)";
  return { path: SURVEYOR_BIN, source };
}

/** `["K=V", ...]` (a container's envs) as a map. */
export function envList(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

/** What the component declares for Surveyor: its environment, and the config file it uploads (the password). */
export interface DeclaredSurveyor {
  env: Record<string, string>;
  /** The uploaded config file's settings (Surveyor reads `--config <file>`). */
  file: Record<string, string>;
  /** The container's command: Surveyor's arguments. */
  args: string[];
}

/** The Surveyor container's declared inputs (secrets unwrapped), as the engine would send them. */
export function declaredSurveyor(inputs: { envs: string[]; command: string[]; uploads: { file: string; content: string }[] }): DeclaredSurveyor {
  const configFile = inputs.command[inputs.command.indexOf("--config") + 1];
  const upload = inputs.uploads.find((u) => u.file === configFile);
  if (!upload) throw new Error(`Surveyor reads --config ${configFile}, but no upload writes it`);
  return { env: envList(inputs.envs), file: JSON.parse(upload.content), args: inputs.command };
}

/**
 * The declared Surveyor with the two values that only make sense inside Docker swapped for local
 * ones: NATS_SURVEYOR_SERVERS becomes `urls` (comma-separated, the list nats.go splits), the
 * config file's password the local one. Everything else stays as declared.
 */
export function localSurveyor(declared: DeclaredSurveyor, urls: string[], password: string): DeclaredSurveyor {
  return { ...declared, env: { ...declared.env, NATS_SURVEYOR_SERVERS: urls.join(",") }, file: { ...declared.file, password } };
}

export interface RunningSurveyor {
  metricsUrl: string;
  metrics(): Promise<string>;
  /** `nats_survey_surveyed_count` from /metrics, or undefined before the first survey. */
  surveyedCount(): Promise<number | undefined>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Surveyor as declared: exactly its environment (nothing inherited from this shell), its
 * arguments with the config file written into an empty directory (it would read
 * ./nats-surveyor.yaml otherwise), serving /metrics on 127.0.0.1 and a free port; resolves once
 * it has reported its first survey.
 */
export async function startSurveyor(declared: DeclaredSurveyor): Promise<RunningSurveyor> {
  const binary = surveyorBinary().path;
  const port = await freePort();
  const workDir = mkdtempSync(path.join(tmpdir(), "nats-infra-surveyor-"));
  const configFile = path.join(workDir, "surveyor.yaml");
  writeFileSync(configFile, JSON.stringify(declared.file));
  const args = declared.args.map((arg, i) => (declared.args[i - 1] === "--config" ? configFile : arg));
  const child: ChildProcess = spawn(binary, [...args, "--addr", "127.0.0.1", "--port", String(port)], { env: declared.env, cwd: workDir, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const metrics = async () => (await fetch(metricsUrl)).text();
  const surveyor: RunningSurveyor = {
    metricsUrl,
    metrics,
    async surveyedCount() {
      const match = /^nats_survey_surveyed_count (\d+)$/m.exec(await metrics());
      return match ? Number(match[1]) : undefined;
    },
    log: () => log,
    async stop() {
      await terminate(child);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  try {
    // An exit ends the wait at once; it is reported below with the log.
    await waitFor(async () => child.exitCode !== null || (await surveyor.surveyedCount()) !== undefined, 20_000, () => `Surveyor served no nats_survey_surveyed_count on ${metricsUrl}; its log:\n${log}`);
    if (child.exitCode !== null) throw new Error(`Surveyor exited with ${child.exitCode}; its log:\n${log}`);
  } catch (error) {
    await surveyor.stop();
    throw error;
  }
  return surveyor;
}
