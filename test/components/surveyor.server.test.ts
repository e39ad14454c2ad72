// NATS Surveyor as the component declares it, against a real nats-server: the Surveyor
// container's environment is taken exactly as recorded under Pulumi mocks, only the in-Docker
// server URL (nats://nats:4222) becomes the local server's URL and the generated password the
// local server's one; the real .tools/bin/nats-surveyor then has to survey the server and every
// account of the dev stack. This is what proves the `_surveyor` user's permissions (rendered in
// auth.conf) are enough for what Surveyor asks the system account.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { SYSTEM_ACCOUNT } from "../../config/primitives";
import { SURVEYOR_USER } from "../../config/users";
import versions from "../../config/versions.json";
import { startNats, waitFor, type RunningNats } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { isSecretWrapper, runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { TOOLS_BIN } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const DEV = readStackFile("Pulumi.dev.yaml");
const SURVEYOR_BIN = path.join(TOOLS_BIN, "nats-surveyor");
/** The URL the sidecar uses on the cluster network (the nats container's alias). */
const IN_DOCKER_URL = "nats://nats:4222";

const INSTALL_HELP =
  `${SURVEYOR_BIN} is missing. \`go install ${versions.surveyor.module}@${versions.surveyor.version}\` is refused by the Go proxy here (403), ` +
  "so install it from prebuilt binaries: `NATS_INFRA_PREBUILT_BIN=../shared/bin npm run tools` (relative to the repo root; CI sets it). " +
  "tools/install-tools.sh records where the binary came from in .tools/bin/nats-surveyor.source.";

let run: ProgramRun;
let nats: RunningNats;
let surveyor: ChildProcess | undefined;
let surveyorLog = "";
let workDir: string;
let declared: Record<string, string>;
let metricsUrl: string;
let metrics: string;

function envList(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

beforeAll(async () => {
  // No skipping: without the binary this file fails, in CI (CI=true) and locally alike.
  if (!existsSync(SURVEYOR_BIN)) throw new Error(INSTALL_HELP);
  const source = existsSync(`${SURVEYOR_BIN}.source`) ? readFileSync(`${SURVEYOR_BIN}.source`, "utf8").trim() : "unknown (no .tools/bin/nats-surveyor.source; rerun `npm run tools`)";
  console.log(`nats-surveyor that runs: ${SURVEYOR_BIN}, from: ${source}`);

  run = await runProgram(DEV);
  const container = run.byName("nats-surveyor");
  // The password reaches the container only through a secret environment.
  expect(isSecretWrapper(container.inputs.envs)).toBe(true);
  declared = envList(unwrapSecrets(container.inputs.envs) as string[]);

  nats = await startNats(DEV);
  workDir = mkdtempSync(path.join(tmpdir(), "nats-infra-surveyor-"));
}, 60_000);

afterAll(async () => {
  if (surveyor && surveyor.exitCode === null) {
    const exited = new Promise((resolve) => surveyor!.once("exit", resolve));
    surveyor.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (surveyor.exitCode === null) surveyor.kill("SIGKILL");
  }
  await nats?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("Surveyor with the environment the component declares", () => {
  test("the declared environment: in-Docker URL, the system-account user and its generated password", () => {
    expect(Object.keys(declared).sort()).toEqual(
      ["NATS_SURVEYOR_ACCOUNTS", "NATS_SURVEYOR_COUNT", "NATS_SURVEYOR_PASSWORD", "NATS_SURVEYOR_SERVERS", "NATS_SURVEYOR_USER"].sort(),
    );
    expect(declared.NATS_SURVEYOR_SERVERS).toBe(IN_DOCKER_URL);
    expect(declared.NATS_SURVEYOR_USER).toBe(SURVEYOR_USER);
    // The value the engine would send is the generated password of that user, not a stand-in.
    expect(declared.NATS_SURVEYOR_PASSWORD).toBe(unwrapSecrets(run.byName(`nats-password-${SURVEYOR_USER}`).state.result));
  });

  test("surveys the real server and exports server and per-account series", async () => {
    const port = await freePort();
    // Exactly the declared variables (no inherited NATS_SURVEYOR_* from this shell), with the two
    // values that only make sense inside Docker swapped for the local server's.
    const env: Record<string, string> = { ...declared, NATS_SURVEYOR_SERVERS: nats.url, NATS_SURVEYOR_PASSWORD: nats.passwords[declared.NATS_SURVEYOR_USER] };
    expect(Object.entries(env).filter(([k, v]) => declared[k] !== v).map(([k]) => k).sort()).toEqual(["NATS_SURVEYOR_PASSWORD", "NATS_SURVEYOR_SERVERS"]);
    // cwd is an empty directory: Surveyor would otherwise read ./nats-surveyor.yaml if one existed.
    surveyor = spawn(SURVEYOR_BIN, ["--addr", "127.0.0.1", "--port", String(port)], { env, cwd: workDir, stdio: ["ignore", "pipe", "pipe"] });
    surveyor.stdout!.on("data", (d) => (surveyorLog += d));
    surveyor.stderr!.on("data", (d) => (surveyorLog += d));
    metricsUrl = `http://127.0.0.1:${port}/metrics`;

    await waitFor(
      async () => {
        if (surveyor!.exitCode !== null) return true; // reported below with its log
        metrics = await (await fetch(metricsUrl)).text();
        return /^nats_survey_surveyed_count \d+$/m.test(metrics);
      },
      20_000,
      () => `Surveyor served no nats_survey_surveyed_count on ${metricsUrl}; its log:\n${surveyorLog}`,
    );
    expect(surveyor.exitCode, `Surveyor exited; its log:\n${surveyorLog}`).toBeNull();

    const config = parseStackConfig(DEV).config;
    // One nats container in the dev stack, so one server to survey; the declared count agrees.
    const servers = run.ofType(CONTAINER).filter((c) => (unwrapSecrets(c.inputs) as { labels: { label: string; value: string }[] }).labels.some((l) => l.label === "nats-infra.role" && l.value === "nats"));
    expect(servers).toHaveLength(1);
    expect(Number(declared.NATS_SURVEYOR_COUNT)).toBe(servers.length);
    expect(metrics).toMatch(new RegExp(`^nats_survey_surveyed_count ${servers.length}$`, "m"));
    expect(metrics).toMatch(/^nats_up 1$/m);

    // Server series carry the configured server name.
    const serverName = config.server.name;
    const serverSeries = metrics.split("\n").filter((l) => l.startsWith("nats_core_") && !l.startsWith("nats_core_account_") && l.includes(`server_name="${serverName}"`));
    expect(serverSeries.map((l) => l.split("{")[0])).toEqual(expect.arrayContaining(["nats_core_mem_bytes", "nats_core_total_connection_count"]));

    // Every account of the stack, the system account included, has its own series.
    const accounts = [...config.accounts.map((a) => a.name), SYSTEM_ACCOUNT];
    for (const account of accounts) {
      const series = metrics.split("\n").filter((l) => l.startsWith("nats_core_account_") && l.includes(`account="${account}"`));
      expect(series.map((l) => l.split("{")[0]), `series of account ${account}`).toEqual(expect.arrayContaining(["nats_core_account_conn_count", "nats_core_account_sub_count"]));
    }
    // No other accounts than the declared ones and the server's built-in global account $G.
    const seen = [...new Set([...metrics.matchAll(/^nats_core_account_conn_count\{[^}]*\baccount="([^"]+)"/gm)].map((m) => m[1]))].sort();
    expect(seen).toEqual([...accounts, "$G"].sort());
    expect(metrics).toMatch(new RegExp(`^nats_core_account_count ${accounts.length + 1}$`, "m"));
    // The surveyor itself is connected to the system account.
    expect(metrics).toMatch(new RegExp(`^nats_core_account_conn_count\\{[^}]*account="${SYSTEM_ACCOUNT}"[^}]*\\} [1-9]`, "m"));
    console.log(
      `surveyor /metrics: ${metrics.split("\n").filter((l) => l && !l.startsWith("#")).length} series, ` +
        `${serverSeries.length} server series for ${serverName}, per-account series for ${seen.join(", ")}`,
    );
  }, 40_000);
});
