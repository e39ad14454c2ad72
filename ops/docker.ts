// A deployed node's container as Docker sees it (`docker inspect`), for status reports. The
// docker CLI is used, as components/apply-config.sh does, so DOCKER_HOST (ssh://, tcp://, a
// socket) works the way it does for the deployment. Docker being absent or down is an answer
// ("docker not found", "Docker unreachable"), never an exception: a status report must still
// show what the servers themselves say.
import { execFile, type ExecFileException } from "node:child_process";

export interface ContainerState {
  name: string;
  /** Docker's State.Status: running, restarting, exited, ...; undefined when Docker gave no answer. */
  state?: string;
  /** The healthcheck's status (healthy, unhealthy, starting); undefined without a healthcheck. */
  health?: string;
  /** Why there is no state: Docker missing or unreachable, no such container. */
  problem?: string;
}

/** " at ssh://admin@10.0.0.6" for what runs on another Docker host, "" on the default one: for messages. */
export const atHost = (dockerHost?: string): string => (dockerHost ? ` at ${dockerHost}` : "");

/** An ssh:// Docker host can take a while to connect; a hung one must not hold up the report. */
const INSPECT_TIMEOUT_MS = 10_000;

export function inspectContainer(name: string, dockerHost?: string): Promise<ContainerState> {
  const env = dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env;
  return new Promise((resolve) => {
    execFile("docker", ["inspect", "--type", "container", "--format", "{{json .State}}", name], { env, timeout: INSPECT_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) return resolve({ name, problem: whyNoState(error, stderr, dockerHost) });
      try {
        const state = JSON.parse(stdout) as { Status?: string; Health?: { Status?: string } };
        resolve({ name, state: state.Status, health: state.Health?.Status });
      } catch {
        resolve({ name, problem: `docker inspect gave no state: ${stdout.trim().slice(0, 200)}` });
      }
    });
  });
}

function whyNoState(error: ExecFileException, stderr: string, dockerHost?: string): string {
  if (error.code === "ENOENT") return "docker not found (install the Docker CLI to see container state)";
  if (error.killed) return `Docker unreachable: no answer within ${INSPECT_TIMEOUT_MS / 1000} s`;
  const message = stderr.trim().split("\n").pop() ?? "";
  if (/no such (object|container)/i.test(message)) return "no such container";
  if (/cannot connect|connection refused|is the docker daemon running|error during connect/i.test(message)) {
    return `Docker unreachable${atHost(dockerHost)}`;
  }
  return message || error.message;
}

/** A failed docker command: `detail` is Docker's own words (stderr), for callers that match on them. */
export class DockerError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = "DockerError";
  }
}

/**
 * Runs the docker CLI against `dockerHost` (DOCKER_HOST; the default engine when undefined),
 * with `input` on its stdin (docker reads it only for `cp -`). Resolves with stdout; rejects
 * with a DockerError naming the command, the host and what Docker said.
 */
export function dockerAt(dockerHost: string | undefined, args: string[], options: { input?: Buffer; timeoutMs?: number } = {}): Promise<Buffer> {
  const env = dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : process.env;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = execFile("docker", args, { env, encoding: "buffer", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const detail = dockerMessage(stderr.toString());
      const why = error.killed ? `no answer within ${timeoutMs / 1000} s` : detail || error.message;
      reject(new DockerError(`docker ${args[0]} failed${atHost(dockerHost)}: ${why}`, detail || error.message));
    });
    // An early exit of docker must not fail the write (EPIPE).
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input);
  });
}

/** Docker's complaint without its "Run 'docker run --help'" hint. */
function dockerMessage(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim().replace(/^docker: /, ""));
  return lines.filter((l) => l && !/^(Run|See) 'docker .*--help'/.test(l)).join("; ");
}

/** dockerAt's stdout as text. */
export async function dockerText(dockerHost: string | undefined, args: string[], timeoutMs?: number): Promise<string> {
  return (await dockerAt(dockerHost, args, { timeoutMs })).toString();
}
