// credentials.json as the dev server writes it (ops/localRender.ts): with each user's inbox
// prefix. test/harness/devState.ts writes it without, which backup and restore read as a
// credential from before private inboxes (ops/target.ts inboxPrefixOf: `_INBOX`).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { StackConfig } from "../../../config/schema";
import { natsUsers } from "../../../config/users";

/** Adds every user's `inboxPrefix` to the credentials.json of `stateDir`; returns `stateDir`. */
export function withInboxPrefixes(stateDir: string, config: StackConfig): string {
  const file = path.join(stateDir, "credentials.json");
  const credentials = JSON.parse(readFileSync(file, "utf8")) as Record<string, object>;
  for (const { user, inboxPrefix } of natsUsers(config)) if (credentials[user]) credentials[user] = { ...credentials[user], inboxPrefix };
  writeFileSync(file, JSON.stringify(credentials));
  return stateDir;
}
