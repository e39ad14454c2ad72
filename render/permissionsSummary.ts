// A non-secret, one-entry-per-user view of who may publish and subscribe to what. The component
// passes it to the config command as plain environment entries, so `pulumi preview` shows an
// auth change as the exact entries that were added, removed or edited, while auth.conf (which
// holds password hashes) stays secret. Policies read the same entries.
import type { StackConfig } from "../config/schema";
import { envNamePart } from "../config/primitives";
import { natsUsers, type NatsUser } from "../config/users";
import type { JetStreamIntent } from "../config/jetstreamIntent";
import { SHARED_INBOX_PREFIX } from "../config/inboxes";

export const PERMISSIONS_ENV_PREFIX = "NATS_PERMISSIONS_";

export interface PermissionsEntry {
  user: string;
  account: string;
  publish: string[];
  subscribe: string[];
  allowResponses: boolean;
  /**
   * Only for a service with JetStream intent: the intent as written and the subjects compiled
   * from it (also in publish and subscribe above), so a preview shows why each one is granted.
   * Absent otherwise, so the entries of other users read exactly as before.
   */
  jetstream?: { intent: JetStreamIntent; publish: string[]; subscribe: string[] };
  /** Only where replies are private: the prefix the user's clients connect with (config/inboxes.ts). */
  inboxPrefix?: string;
  /** Only where the user's subscribe allows reach into others' private inboxes: those, denied. */
  inboxDenies?: string[];
}

/** Environment key for a user: service names use only [a-z0-9-] and start with a letter,
 * internal users start with "_", so this mapping is one-to-one. */
export function permissionsEnvKey(user: string): string {
  return PERMISSIONS_ENV_PREFIX + envNamePart(user).toUpperCase();
}

export function permissionsSummary(config: StackConfig): Record<string, string> {
  return Object.fromEntries(natsUsers(config).map((user) => [permissionsEnvKey(user.user), JSON.stringify(entry(user))]));
}

export function parsePermissionsSummary(value: string): PermissionsEntry {
  return JSON.parse(value) as PermissionsEntry;
}

function entry(user: NatsUser): PermissionsEntry {
  const { publish, subscribe, allowResponses } = user.permissions;
  // A deny-all rule reads as "nothing" to a person; allow lists read as themselves.
  const summary: PermissionsEntry = { user: user.user, account: user.account, publish: publish.allow ?? [], subscribe: subscribe.allow ?? [], allowResponses };
  if (user.jetstream) summary.jetstream = { intent: user.jetstream.intent, ...user.jetstream.derived };
  // Both are left out on shared inboxes, so the entries of a stack that keeps them read as before.
  if (user.inboxPrefix !== SHARED_INBOX_PREFIX) summary.inboxPrefix = user.inboxPrefix;
  if (user.inboxDenies) summary.inboxDenies = user.inboxDenies;
  return summary;
}
