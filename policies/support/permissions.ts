// The per-user permission entries the config command carries as plain environment entries
// (render/permissionsSummary.ts), gathered from every command of the stack.
import type { PolicyResource } from "@pulumi/policy";
import { parsePermissionsSummary, PERMISSIONS_ENV_PREFIX, type PermissionsEntry } from "../../render/permissionsSummary";
import { COMMAND_TYPE, commandEnvironment } from "./entries";
import { UNKNOWN } from "./values";

export interface FoundPermissions {
  entry: PermissionsEntry;
  key: string;
  resource: PolicyResource;
}

export interface PermissionsProblem {
  key: string;
  resource: PolicyResource;
  reason: string;
}

export function permissionEntries(resources: PolicyResource[]): { found: FoundPermissions[]; problems: PermissionsProblem[] } {
  const found = new Map<string, FoundPermissions>();
  const problems: PermissionsProblem[] = [];
  for (const resource of resources.filter((r) => r.type === COMMAND_TYPE)) {
    const entries = commandEnvironment(resource.props);
    if (entries === UNKNOWN) continue;
    for (const { key, value } of entries.filter((e) => e.key.startsWith(PERMISSIONS_ENV_PREFIX))) {
      try {
        const entry = parsePermissionsSummary(value);
        if (typeof entry.user !== "string" || !Array.isArray(entry.publish) || !Array.isArray(entry.subscribe)) throw new Error("missing user, publish or subscribe");
        // A routed cluster would carry the same entry on every node: count each user once.
        if (!found.has(key)) found.set(key, { entry, key, resource });
      } catch (error) {
        problems.push({ key, resource, reason: (error as Error).message });
      }
    }
  }
  return { found: [...found.values()], problems };
}

/** Internal users (surveyor, tools, JetStream admin) start with "_"; service names cannot. */
export function isInternalUser(user: string): boolean {
  return user.startsWith("_");
}
