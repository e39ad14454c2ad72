// What `nats-infra <command> --dev STATE_DIR` reads, written for servers a test started itself:
// the stack file (with the servers' ports and cluster) and every user's credentials.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify as stringifyYaml } from "yaml";
import type { StackConfig } from "../../config/schema";
import { natsUsers } from "../../config/users";

export function writeDevState(stateDir: string, input: Record<string, unknown>, config: StackConfig, passwords: Record<string, string>, url: string): string {
  mkdirSync(stateDir);
  const stack = { ...input, server: { ...(input.server as object), clientPort: config.server.clientPort, monitorPort: config.server.monitorPort }, cluster: config.cluster };
  const stackFile = path.join(stateDir, "Pulumi.test.yaml");
  writeFileSync(stackFile, stringifyYaml({ config: Object.fromEntries(Object.entries(stack).map(([key, value]) => [`nats-infra:${key}`, value])) }));
  writeFileSync(path.join(stateDir, "dev.json"), JSON.stringify({ stackFile }));
  const credentials = Object.fromEntries(natsUsers(config).map(({ user, account, inboxPrefix }) => [user, { user, account, password: passwords[user], url, inboxPrefix }]));
  writeFileSync(path.join(stateDir, "credentials.json"), JSON.stringify(credentials));
  return stateDir;
}
