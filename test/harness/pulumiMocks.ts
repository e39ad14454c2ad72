/**
 * Runs the real program (index.ts) under Pulumi mocks and records every resource it registers,
 * with its inputs exactly as the engine would receive them (secrets still wrapped).
 *
 *   const run = await runProgram(readStackFile("test/fixtures/Pulumi.dev.yaml"));
 *   run.resources            // [{ type, name, inputs, state }] in registration order
 *   run.ofType("docker:index/container:Container")
 *   run.passwords            // every mocked RandomPassword result (plaintext), to hunt leaks
 *   await outputValue(run.exports.credentials)
 *
 * Each call evaluates a fresh copy of the program (vi.resetModules), so two runs in one test
 * file compare "before" and "after" a config change. Mocked passwords and bcrypt hashes are
 * derived from the resource name, as stable across runs as the real provider's are.
 */
import { vi } from "vitest";
import { configEntries, isSecretWrapper, mockState, SECRET_SIG, unwrapSecrets } from "./mockState";
import type * as PulumiModule from "@pulumi/pulumi";

export { isSecretWrapper, SECRET_SIG, unwrapSecrets };

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs as sent to the engine: secret values wrapped as { [SECRET_SIG]: SECRET_MARK, value }. */
  inputs: Record<string, unknown>;
  /** What the mock returned as the resource's state. */
  state: Record<string, unknown>;
  /** Resource options the engine received. */
  options: ResourceOptionsSeen;
}

export interface ResourceOptionsSeen {
  retainOnDelete: boolean;
  protect: boolean;
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  /** URNs of explicit and implicit dependencies. */
  dependencies: string[];
  parent: string;
}

export interface ProgramRun {
  resources: RecordedResource[];
  exports: Record<string, PulumiModule.Output<unknown> | unknown>;
  passwords: string[];
  ofType(type: string): RecordedResource[];
  byName(name: string): RecordedResource;
}

export const PROJECT = "nats-infra";

/** Raw stack config (keys without the `nats-infra:` prefix) -> the program's resources. */
export async function runProgram(
  rawConfig: Record<string, unknown>,
  options: {
    stack?: string;
    preview?: boolean;
    /** Another program than index.ts (e.g. one that imports NatsCluster); returns its exports. */
    program?: () => Promise<Record<string, unknown>>;
  } = {},
): Promise<ProgramRun> {
  vi.resetModules();
  const pulumi: typeof PulumiModule = await import("@pulumi/pulumi");
  const resources: RecordedResource[] = [];
  const passwords: string[] = [];
  const optionsByName = new Map<string, ResourceOptionsSeen>();
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = mockState(args.type, args.name, args.inputs);
        if (typeof state.result === "string" && args.type === "random:index/randomPassword:RandomPassword") passwords.push(state.result);
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, state, options: optionsByName.get(args.name)! });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    PROJECT,
    options.stack ?? "dev",
    options.preview ?? false,
  );
  // The mocks' newResource sees no resource options; read them off the request on the way in.
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, cb: unknown): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    optionsByName.set(req.getName(), {
      retainOnDelete: Boolean(req.getRetainondelete()),
      protect: Boolean(req.getProtect()),
      deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
      replaceOnChanges: req.getReplaceonchangesList(),
      dependencies: req.getDependenciesList(),
      parent: req.getParent(),
    });
    return register(req, cb);
  };
  pulumi.runtime.setAllConfig(configEntries(PROJECT, rawConfig));
  const exports = options.program ? await options.program() : ((await import("../../index")) as Record<string, unknown>);
  // Every export resolves only after the resources it depends on are registered.
  for (const value of Object.values(exports)) if (pulumi.Output.isInstance(value)) await outputValue(value as PulumiModule.Output<unknown>);
  await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    resources,
    exports,
    passwords,
    ofType: (type) => resources.filter((r) => r.type === type),
    byName(name) {
      const found = resources.find((r) => r.name === name);
      if (!found) throw new Error(`no resource named ${name}; have: ${resources.map((r) => r.name).join(", ")}`);
      return found;
    },
  };
}

interface RegisterRequest {
  getName(): string;
  getRetainondelete(): boolean | undefined;
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getDependenciesList(): string[];
  getParent(): string;
}

/** Resolves an Output's value (an assertion inside an un-awaited apply would be lost). */
export function outputValue<T>(output: PulumiModule.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Paths where one of `needles` occurs in a string that is NOT inside a secret wrapper. */
export function plaintextOccurrences(value: unknown, needles: string[], path = ""): string[] {
  if (isSecretWrapper(value)) return [];
  if (typeof value === "string") return needles.some((n) => value.includes(n)) ? [path || "(root)"] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextOccurrences(v, needles, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => plaintextOccurrences(v, needles, path ? `${path}.${k}` : k));
  return [];
}
