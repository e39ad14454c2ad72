/**
 * Runs the real program (index.ts) once under Pulumi mocks in THIS process and records every
 * resource it registers. The bench variant of test/support/pulumiMocks.ts runProgram: that one
 * needs vitest's vi.resetModules to evaluate the program twice in one process; a bench runs
 * each evaluation in a fresh child process instead (bench/support/programWorker.ts), so its
 * time and peak memory belong to that evaluation alone. Mocked passwords and bcrypt hashes
 * follow the same rules as the test mocks (derived from the resource name, bcrypt cost 4), so
 * two runs of the same config record identical inputs, as the real provider's state would.
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "nats-infra";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs as the engine receives them, with secret wrappers removed (for diffing). */
  inputs: Record<string, unknown>;
}

export interface MockedRun {
  resources: RecordedResource[];
  /** CPU time spent inside the mock's newResource (mostly the mocked bcrypt): not the program's. */
  mockMs: number;
}

/** Which program to evaluate: the real one, or the floor (bench/support/floorProgram.ts). */
export type ProgramKind = "index" | "floor";

/** May be called once per process: the program module is evaluated on import. */
export async function runProgramOnce(rawConfig: Record<string, unknown>, program: ProgramKind = "index"): Promise<MockedRun> {
  const resources: RecordedResource[] = [];
  let mockMs = 0;
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const start = process.cpuUsage();
        const state: Record<string, unknown> = { ...(unwrapSecrets(args.inputs) as object) };
        if (args.type === "random:index/randomPassword:RandomPassword") {
          const password = mockPassword(args.name, Number(state.length ?? 32));
          state.result = password;
          state.bcryptHash = mockBcrypt(args.name, password);
        }
        if (args.type === "docker:index/volume:Volume" || args.type === "docker:index/network:Network") state.name ??= args.name;
        resources.push({ type: args.type, name: args.name, inputs: unwrapSecrets(args.inputs) as Record<string, unknown> });
        const spent = process.cpuUsage(start);
        mockMs += (spent.user + spent.system) / 1000;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    PROJECT,
    "dev",
    false,
  );
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(rawConfig).map(([key, value]) => [`${PROJECT}:${key}`, typeof value === "string" ? value : JSON.stringify(value)])),
  );
  // Required (not imported) after setMocks: a static import would run the program before the mocks exist.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exports = (program === "index" ? require("../../index") : require("./floorProgram")) as Record<string, unknown>;
  for (const value of Object.values(exports)) {
    if (pulumi.Output.isInstance(value)) await new Promise((resolve) => (value as pulumi.Output<unknown>).apply(resolve));
  }
  // Let registrations queued behind the last export settle, as the test runner does.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { resources, mockMs };
}

function unwrapSecrets(value: unknown): unknown {
  if (value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG] !== undefined) return unwrapSecrets((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  return value;
}

function mockPassword(name: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const digest = createHash("sha512").update(`password:${name}`).digest();
  return Array.from({ length }, (_, i) => alphabet[digest[i % digest.length] % alphabet.length]).join("");
}

function mockBcrypt(name: string, password: string): string {
  const saltChars = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHash("sha256").update(`salt:${name}`).digest();
  const salt = Array.from({ length: 22 }, (_, i) => saltChars[digest[i] % 64]).join("");
  // Cost 4, as in the test mocks; the real provider hashes at cost 10 (outside this process).
  return bcrypt.hashSync(password, `$2a$04$${salt}`);
}
