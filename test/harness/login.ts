// How a test client logs in as one user of a rendered stack: its name, password and the inbox
// prefix its credentials carry (config/inboxes.ts). Under private inboxes a client that keeps
// the default `_INBOX` gets no replies, so every test connection takes the prefix from here.
import type { StackConfig } from "../../config/schema";
import { natsUsers } from "../../config/users";

/** nats.js connect options for one user (`inboxPrefix` is nats.js's name for it). */
export interface Login {
  user: string;
  pass: string;
  inboxPrefix: string;
}

export function inboxPrefixOf(config: StackConfig, user: string): string {
  const found = natsUsers(config).find((u) => u.user === user);
  if (!found) throw new Error(`no user ${user} in this stack; users: ${natsUsers(config).map((u) => u.user).join(", ")}`);
  return found.inboxPrefix;
}

export function loginOf(config: StackConfig, passwords: Record<string, string>, user: string): Login {
  return { user, pass: passwords[user], inboxPrefix: inboxPrefixOf(config, user) };
}
