// NATS Surveyor as the component declares it, against a real nats-server: the Surveyor
// container's environment, command and uploaded config file are taken exactly as recorded under
// Pulumi mocks, only the in-Docker server URL (nats://nats:4222) becomes the local server's URL
// and the generated password the local server's one; the real .tools/bin/nats-surveyor then has to survey the server and every
// account of the dev stack. This is what proves the `_surveyor` user's permissions (rendered in
// auth.conf) are enough for what Surveyor asks the system account.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { SYSTEM_ACCOUNT } from "../../config/primitives";
import { SURVEYOR_USER } from "../../config/users";
import { startNats, type RunningNats } from "../harness/natsServer";
import { isSecretWrapper, runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { declaredSurveyor, localSurveyor, startSurveyor, surveyorBinary, type DeclaredSurveyor, type RunningSurveyor } from "../harness/surveyor";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const CONTAINER = "docker:index/container:Container";
const DEV = readStackFile(DEV_STACK_FIXTURE);
/** The URL the sidecar uses on the cluster network (the nats container's alias). */
const IN_DOCKER_URL = "nats://nats:4222";

let run: ProgramRun;
let nats: RunningNats;
let surveyor: RunningSurveyor | undefined;
let declared: DeclaredSurveyor;

beforeAll(async () => {
  // No skipping: without the binary this file fails (surveyorBinary throws the install help), in CI (CI=true) and locally alike.
  const binary = surveyorBinary();
  console.log(`nats-surveyor that runs: ${binary.path}, from: ${binary.source}`);

  run = await runProgram(DEV);
  const container = run.byName("nats-surveyor");
  // The password reaches the container only in a secret uploaded file: an environment entry would show in `docker inspect`.
  expect(isSecretWrapper(container.inputs.uploads)).toBe(true);
  declared = declaredSurveyor(unwrapSecrets(container.inputs) as any);

  nats = await startNats(DEV);
}, 60_000);

afterAll(async () => {
  await surveyor?.stop();
  await nats?.stop();
});

describe("Surveyor as the component declares it", () => {
  test("the declared environment (in-Docker URL, the system-account user) and config file (its generated password)", () => {
    expect(Object.keys(declared.env).sort()).toEqual(["NATS_SURVEYOR_ACCOUNTS", "NATS_SURVEYOR_COUNT", "NATS_SURVEYOR_SERVERS", "NATS_SURVEYOR_USER"].sort());
    expect(declared.env.NATS_SURVEYOR_SERVERS).toBe(IN_DOCKER_URL);
    expect(declared.env.NATS_SURVEYOR_USER).toBe(SURVEYOR_USER);
    // The value the engine would send is the generated password of that user, not a stand-in.
    expect(declared.file).toEqual({ password: unwrapSecrets(run.byName(`nats-password-${SURVEYOR_USER}`).state.result) });
  });

  test("surveys the real server and exports server and per-account series", async () => {
    // Exactly the declared variables (startSurveyor passes nothing inherited from this shell),
    // with the two values that only make sense inside Docker swapped for the local server's.
    const local = localSurveyor(declared, [nats.url], nats.passwords[declared.env.NATS_SURVEYOR_USER]);
    expect(local.env.NATS_SURVEYOR_SERVERS).toBe(nats.url);
    expect(Object.entries(local.env).filter(([k, v]) => declared.env[k] !== v).map(([k]) => k)).toEqual(["NATS_SURVEYOR_SERVERS"]);
    // Resolves once Surveyor has served nats_survey_surveyed_count; throws (with its log) if it
    // exits first or serves none within 20 s.
    surveyor = await startSurveyor(local);
    const metrics = await surveyor.metrics();

    const config = parseStackConfig(DEV).config;
    // One nats container in the dev stack, so one server to survey; the declared count agrees.
    const servers = run.ofType(CONTAINER).filter((c) => (unwrapSecrets(c.inputs) as { labels: { label: string; value: string }[] }).labels.some((l) => l.label === "nats-infra.role" && l.value === "nats"));
    expect(servers).toHaveLength(1);
    expect(Number(declared.env.NATS_SURVEYOR_COUNT)).toBe(servers.length);
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
