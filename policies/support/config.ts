// Policy options with their defaults. The CLI fills defaults from each policy's configSchema,
// but a policy called directly (tests) gets only what it is given, so defaults are applied here
// too and every policy reads its options the same way.
import type { PolicyConfigSchema } from "@pulumi/policy";

export function withDefaults<T extends object>(schema: PolicyConfigSchema, given: object): T {
  const defaults: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema.properties)) {
    if (typeof property === "object" && property.default !== undefined) defaults[key] = property.default;
  }
  return { ...defaults, ...given } as T;
}
