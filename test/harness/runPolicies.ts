// Runs policies the way the Pulumi CLI's analyzer does, but in-process and without the CLI:
// builds the args a policy receives (props, options, config, notApplicable) from plain
// resource records and collects the violations. Tests use it for hand-made resources and for
// the resources a whole stack registers under Pulumi mocks.
import type {
  EnforcementLevel,
  Policies,
  PolicyPackConfig,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { RecordedResource } from "./pulumiMocks";

export interface ResourceRecord {
  type: string;
  name: string;
  /** Inputs as the engine (or mocks) gives them; secret values may keep their mock wrapper. */
  props: Record<string, unknown>;
  /** Outputs, which stack policies see instead of inputs (e.g. a RandomPassword's result). */
  outputs?: Record<string, unknown>;
  urn?: string;
  opts?: Partial<PolicyResourceOptions>;
}

/**
 * The record of a resource the program registered under Pulumi mocks (harness/pulumiMocks.ts),
 * as the engine shows it to policies: resource policies get the inputs (secrets still wrapped, as
 * mocks keep them); stack policies get outputs, the mock's state overlaid with those inputs, so
 * computed outputs (a password's result) are there and secret marks are kept. Options carry only
 * what the engine shows a policy: protect and parent, never retainOnDelete.
 */
export function toRecord(resource: RecordedResource): ResourceRecord {
  return {
    type: resource.type,
    name: resource.name,
    props: resource.inputs,
    outputs: { ...resource.state, ...resource.inputs },
    opts: { protect: resource.options?.protect ?? false, parent: resource.options?.parent || undefined },
  };
}

export interface Violation {
  policy: string;
  enforcementLevel: EnforcementLevel;
  message: string;
  urn?: string;
  /** Name of the resource the violation is about, when known. */
  resource?: string;
}

export interface RunResult {
  violations: Violation[];
  /** Policies that declared themselves not applicable, with their reasons. */
  notApplicable: { policy: string; reason?: string }[];
}

class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "not applicable");
  }
}

export function urnOf(record: ResourceRecord): string {
  return record.urn ?? `urn:pulumi:test::nats-infra::${record.type}::${record.name}`;
}

function options(record: ResourceRecord): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...record.opts,
  };
}

function typeTokenOf(resourceClass: unknown): string | undefined {
  return (resourceClass as { __pulumiType?: string }).__pulumiType;
}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

function configFor(policyName: string, packConfig: PolicyPackConfig): object {
  const given = packConfig[policyName];
  if (given === undefined || typeof given === "string") return {};
  const { enforcementLevel: _level, ...rest } = given;
  return rest;
}

function levelFor(policy: { name: string; enforcementLevel?: EnforcementLevel }, packConfig: PolicyPackConfig): EnforcementLevel {
  const given = packConfig[policy.name];
  if (typeof given === "string") return given;
  return given?.enforcementLevel ?? policy.enforcementLevel ?? "advisory";
}

export function resourceArgs(record: ResourceRecord, config: object = {}): ResourceValidationArgs {
  return {
    type: record.type,
    props: record.props,
    urn: urnOf(record),
    name: record.name,
    opts: options(record),
    stackTags: new Map(),
    isType: (cls) => typeTokenOf(cls) === record.type,
    asType: ((cls: unknown) => (typeTokenOf(cls) === record.type ? record.props : undefined)) as ResourceValidationArgs["asType"],
    getConfig: <T extends object>() => config as T,
    notApplicable,
  };
}

export function stackArgs(records: ResourceRecord[], config: object = {}): StackValidationArgs {
  const resources: PolicyResource[] = records.map((record) => ({
    type: record.type,
    props: record.outputs ?? record.props,
    urn: urnOf(record),
    name: record.name,
    opts: options(record),
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => typeTokenOf(cls) === record.type,
    asType: ((cls: unknown) => (typeTokenOf(cls) === record.type ? record.props : undefined)) as PolicyResource["asType"],
  }));
  return { resources, stackTags: new Map(), getConfig: <T extends object>() => config as T, notApplicable };
}

function isStackPolicy(policy: ResourceValidationPolicy | StackValidationPolicy): policy is StackValidationPolicy {
  return "validateStack" in policy;
}

/** Runs every policy (except disabled ones) over the records, as `pulumi preview` would. */
export async function runPolicies(policies: Policies, records: ResourceRecord[], packConfig: PolicyPackConfig = {}): Promise<RunResult> {
  const result: RunResult = { violations: [], notApplicable: [] };
  for (const policy of policies) {
    const enforcementLevel = levelFor(policy, packConfig);
    if (enforcementLevel === "disabled") continue;
    const config = configFor(policy.name, packConfig);
    const run = async (validate: () => Promise<void> | void) => {
      try {
        await validate();
      } catch (error) {
        if (error instanceof NotApplicable) result.notApplicable.push({ policy: policy.name, reason: error.reason });
        else throw error;
      }
    };
    if (isStackPolicy(policy)) {
      const args = stackArgs(records, config);
      const byUrn = new Map(args.resources.map((r) => [r.urn, r.name]));
      await run(() =>
        policy.validateStack(args, (message, urn) =>
          result.violations.push({ policy: policy.name, enforcementLevel, message, urn, resource: urn ? byUrn.get(urn) : undefined }),
        ),
      );
      continue;
    }
    const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const record of records) {
      const args = resourceArgs(record, config);
      for (const validate of validations) {
        await run(() => validate(args, (message) => result.violations.push({ policy: policy.name, enforcementLevel, message, urn: args.urn, resource: record.name })));
      }
    }
  }
  return result;
}
