/**
 * Runs the real program (index.ts) once under Pulumi mocks in THIS process and records every
 * resource it registers. The bench variant of test/harness/pulumiMocks.ts runProgram: that one
 * needs vitest's vi.resetModules to evaluate the program twice in one process; a bench runs
 * each evaluation in a fresh child process instead (bench/support/programWorker.ts), so its
 * time and peak memory belong to that evaluation alone. Mocked passwords and bcrypt hashes
 * follow the same rules as the test mocks (derived from the resource name, bcrypt cost 4), so
 * two runs of the same config record identical inputs, as the real provider's state would.
 */
import * as pulumi from "@pulumi/pulumi";
import { configEntries, mockState, unwrapSecrets } from "../../test/harness/mockState";

export const PROJECT = "nats-infra";

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
        const state = mockState(args.type, args.name, args.inputs);
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
  pulumi.runtime.setAllConfig(configEntries(PROJECT, rawConfig));
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
