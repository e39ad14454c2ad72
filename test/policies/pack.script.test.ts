// The real pack (policies/index.ts) served the way the Pulumi CLI runs it: @pulumi/pulumi's
// run-policy-pack in a child process that prints its gRPC port, then Configure / GetAnalyzerInfo / Analyze / AnalyzeStack requests
// shaped as the engine sends them. This checks what the in-process tests assume about the
// engine path: secrets arrive without their mark, unknowns are hidden behind the SDK's proxy,
// config comes through Configure, and the default stack still passes.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { natsInfraPolicies } from "../../policies/natsInfraPolicies";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../policies/support/values";
import { runProgram } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

// The protobuf and gRPC modules @pulumi/pulumi itself uses, so messages match its generated code.
const fromPulumi = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = fromPulumi("@grpc/grpc-js");
const analyzerPb = fromPulumi("./proto/analyzer_pb");
const analyzerGrpc = fromPulumi("./proto/analyzer_grpc_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"];
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const CONTAINER = "docker:index/container:Container";
const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

interface Diagnostic {
  policy: string;
  level: string;
  message: string;
}

let pack: ChildProcess;
let client: any;

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))));
}

function resourceOptions(protect = false) {
  const options = new analyzerPb.AnalyzerResourceOptions();
  options.setProtect(protect);
  return options;
}

async function analyze(type: string, name: string, props: Record<string, unknown>): Promise<Diagnostic[]> {
  const request = new analyzerPb.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:dev::nats-infra::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(props));
  request.setOptions(resourceOptions());
  return diagnostics(await call("analyze", request));
}

function diagnostics(response: any): Diagnostic[] {
  return response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: LEVELS[d.getEnforcementlevel()], message: d.getMessage() }));
}

/** Sends policy config as the CLI does after `--policy-pack-config`; it replaces earlier config. */
async function configure(config: Record<string, Record<string, unknown>>): Promise<void> {
  const request = new analyzerPb.ConfigureAnalyzerRequest();
  const map = request.getPolicyconfigMap();
  for (const [policy, properties] of Object.entries(config)) {
    const entry = new analyzerPb.PolicyConfig();
    entry.setEnforcementlevel(analyzerPb.EnforcementLevel.MANDATORY);
    entry.setProperties(Struct.fromJavaScript(properties));
    map.set(policy, entry);
  }
  await call("configure", request);
}

beforeAll(async () => {
  // The entry point the CLI's Node.js policy analyzer runs: `run-policy-pack <engine> <pack dir>`
  // from the pack's folder. It compiles and type-checks index.ts with ts-node (about 20 s here).
  // Nothing here calls the engine address, so a closed port stands in for it.
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
  pack = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.resolve(__dirname, "../../policies"), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  pack.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`policy pack printed no port within 100 s; stderr: ${stderr}`)), 100_000);
    pack.stdout!.once("data", (chunk) => {
      clearTimeout(timer);
      resolve(String(chunk).trim());
    });
    pack.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
  expect(port).toMatch(/^\d+$/);
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  if (pack && pack.exitCode === null) {
    const exited = new Promise((resolve) => pack.once("exit", resolve));
    pack.kill("SIGTERM");
    await exited;
  }
});

describe("policies/index.ts served as under the Pulumi CLI", () => {
  test("GetAnalyzerInfo lists every policy with its level and config schema", async () => {
    const info = await call<any>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("nats-infra");
    expect(info.getVersion()).toBe("0.1.0");
    const policies = info.getPoliciesList().map((p: any) => ({ name: p.getName(), level: LEVELS[p.getEnforcementlevel()], options: Object.keys(p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}).sort() }));
    expect(policies.map((p: { name: string }) => p.name)).toEqual(natsInfraPolicies.map((p) => p.name));
    expect(policies.find((p: { name: string }) => p.name === "no-wide-publish")).toEqual({ name: "no-wide-publish", level: "advisory", options: ["forbiddenPublish", "includeInternalUsers"] });
    expect(policies.find((p: { name: string }) => p.name === "loopback-ports").options).toEqual(["allowHostNetwork", "allowedBindAddresses"]);
  });

  test("a public port is a mandatory violation; Configure can allow its address", async () => {
    const props = { image: "nats:2.14.10", memory: 64, ports: [{ internal: 4222, external: 4222, ip: "0.0.0.0" }] };
    const found = await analyze(CONTAINER, "app", props);
    expect(found).toEqual([{ policy: "loopback-ports", level: "mandatory", message: expect.stringContaining("publishes port 4222 on 0.0.0.0") }, expect.objectContaining({ policy: "memory-limits" })]);
    await configure({ "loopback-ports": { allowedBindAddresses: ["0.0.0.0"] } });
    expect((await analyze(CONTAINER, "app", props)).map((d) => d.policy)).toEqual(["memory-limits"]);
    await configure({});
  });

  test("the engine path drops the secret mark: with secretMarkersVisible a marked password looks plain", async () => {
    const props = { image: "x:1.0", memory: 64, envs: secret(["NATS_PASSWORD=abc"]) };
    expect(await analyze(CONTAINER, "box", props)).toEqual([]);
    await configure({ "no-plaintext-secrets": { secretMarkersVisible: true } });
    // Marked secret above, yet reported: so under the CLI this option must stay false (its default).
    expect((await analyze(CONTAINER, "box", props)).map((d) => d.policy)).toEqual(["no-plaintext-secrets"]);
    await configure({});
  });

  test("an unknown value during preview skips only the check that needs it", async () => {
    const found = await analyze(CONTAINER, "box", { image: "x:1.0", memory: 64, envs: UNKNOWN_STRING, command: ["app", "--password", "x"] });
    expect(found).toEqual([{ policy: "no-plaintext-secrets", level: "mandatory", message: expect.stringContaining("command carries a secret") }]);
  });

  test("the default stack, sent resource by resource and as a stack, gets no diagnostics", async () => {
    const run = await runProgram(readStackFile(DEV_STACK_FIXTURE));
    const all: Diagnostic[] = [];
    const stack = new analyzerPb.AnalyzeStackRequest();
    for (const resource of run.resources) {
      all.push(...(await analyze(resource.type, resource.name, resource.inputs)));
      const entry = new analyzerPb.AnalyzerResource();
      entry.setType(resource.type);
      entry.setName(resource.name);
      entry.setUrn(`urn:pulumi:dev::nats-infra::${resource.type}::${resource.name}`);
      entry.setProperties(Struct.fromJavaScript({ ...resource.state, ...resource.inputs }));
      entry.setOptions(resourceOptions(resource.options?.protect ?? false));
      stack.addResources(entry);
    }
    const stackResponse = await call<any>("analyzeStack", stack);
    all.push(...diagnostics(stackResponse));
    expect(all).toEqual([]);
    expect(stackResponse.getNotApplicableList().map((n: any) => n.getPolicyName())).toEqual([]);
  });
});
