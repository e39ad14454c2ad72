// The component's config, from wherever it comes: the current stack's `nats-infra:*` keys (the
// program in this repository), or an object another Pulumi program builds. Either way it is
// validated here, with every problem listed by path, before any resource exists.
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, StackConfigError, stripNamespace } from "../config/load";
import type { StackConfig, StackConfigInput } from "../config/schema";

/** The current stack's `nats-infra:*` config, as raw values keyed without the prefix. */
export function readStackConfig(): StackConfigInput {
  const entries = Object.entries(stripNamespace(pulumi.runtime.allConfig()));
  return Object.fromEntries(entries.map(([key, value]) => [key, parseConfigValue(String(value))])) as StackConfigInput;
}

/** Structured values arrive as JSON text; plain strings (e.g. `pulumi config set x y`) as is. */
function parseConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Defaults applied and every rule checked. Warnings go to the Pulumi log, on `resource`; a bad
 * config stops the program with the list of problems and no stack trace (RunError).
 */
export function validatedConfig(raw: StackConfigInput, resource: pulumi.Resource): StackConfig {
  try {
    const parsed = parseStackConfig(raw);
    for (const warning of parsed.warnings) void pulumi.log.warn(`${warning.path}: ${warning.message}`, resource);
    return parsed.config;
  } catch (error) {
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** Where the rendered files live on the Docker host unless `docker.configDir` says otherwise. */
export function defaultConfigDir(): string {
  return path.resolve(".nats-infra", pulumi.getStack(), "config");
}
