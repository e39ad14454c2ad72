// The command line of the exporter of refused logins (tools/auth-events) for a stack, shared by
// the deployment (components/monitoring.ts, in a container) and `nats-infra dev --monitoring`
// (ops/devMonitoring.ts, a local process), so both count the same users and nodes. Where the
// servers, the password file and the listener are differ between the two and are parameters; the
// password itself never is (it reaches the exporter in a file).
import { existsSync } from "node:fs";
import path from "node:path";
import { clusterNodes } from "../../config/cluster";
import type { StackConfig } from "../../config/schema";
import { AUTH_EVENTS_USER, natsUsers } from "../../config/users";

/** The exporter, built by `npm run tools` (tools/build-go-client.sh) from tools/auth-events. */
export const AUTH_EVENTS_BINARY = path.resolve(__dirname, "..", "..", ".tools", "bin", "nats-infra-auth-events");

/** The exporter is not built: what `builtAuthEventsBinary` throws, saying how to build it. */
export class AuthEventsBinaryMissing extends Error {}

/** `file` (by default the one `npm run tools` builds) when it is there; else AuthEventsBinaryMissing. */
export function builtAuthEventsBinary(file: string = AUTH_EVENTS_BINARY): string {
  if (!existsSync(file)) throw new AuthEventsBinaryMissing(`${file} is missing: run \`npm run tools\` (it builds the exporter of refused logins from tools/auth-events with Go)`);
  return file;
}

export interface AuthEventsPlacement {
  /** NATS URLs, comma-separated, as the exporter reaches the servers. */
  servers: string;
  /** The file holding `_auth_events`'s password, as the exporter sees it. */
  passwordFile: string;
  /** host:port (or :port) of its /metrics. */
  listen: string;
}

export function authEventsArgs(config: StackConfig, placement: AuthEventsPlacement): string[] {
  const users = natsUsers(config);
  const user = users.find((u) => u.user === AUTH_EVENTS_USER);
  if (!user) throw new Error(`the stack has no ${AUTH_EVENTS_USER} user: it exists only with nats-infra:monitoring.prometheus.enabled`);
  return [
    "--servers", placement.servers,
    "--user", AUTH_EVENTS_USER,
    "--password-file", placement.passwordFile,
    "--inbox-prefix", user.inboxPrefix,
    "--listen", placement.listen,
    // Every user of the stack by name (a bounded set); any other name counts as "other".
    "--users", users.map((u) => u.user).join(","),
    // Each node's counters start at 0, so the first refused login is an increase.
    "--server-names", clusterNodes(config).map((n) => n.serverName).join(","),
  ];
}
