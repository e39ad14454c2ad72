// Rendering for nats-servers run on this host (the render command's --local, the dev server):
// the files of every node under one directory, and the secrets that must survive a re-render —
// every user's password and, in a cluster, the route password. A single server's files go in the
// directory itself (as `npm run render -- --local` always wrote them); node i of a cluster in
// `node-<i>/`.
import path from "node:path";
import { clusterNodes, isClustered } from "../config/cluster";
import type { Credential } from "../config/credentials";
import { endpoints } from "../config/endpoints";
import { generatePassword } from "../config/passwords";
import type { StackConfig } from "../config/schema";
import { natsUsers } from "../config/users";
import { hashPasswords, renderFiles, routeSecret, type RenderedFiles } from "../render/files";
import type { RenderTarget } from "../render/natsConf";

export interface LocalSecrets {
  credentials: Record<string, Credential>;
  /** In a cluster: the password the nodes authenticate their routes with. */
  routePassword?: string;
}

export interface LocalNodeFiles {
  index: number;
  dir: string;
  files: RenderedFiles;
}

/** Kept passwords for users that still exist; new users (and a new cluster) get new ones. */
export function localSecrets(config: StackConfig, previous: Partial<LocalSecrets> | undefined, target: "local" | "container"): LocalSecrets {
  const url = endpoints(config, target).client;
  const credentials: Record<string, Credential> = {};
  for (const { user, account, inboxPrefix } of natsUsers(config)) {
    credentials[user] = { user, password: previous?.credentials?.[user]?.password ?? generatePassword(), account, url, inboxPrefix };
  }
  const routePassword = isClustered(config) ? (previous?.routePassword ?? generatePassword()) : undefined;
  return { credentials, routePassword };
}

export function nodeDir(config: StackConfig, dir: string, index: number): string {
  return isClustered(config) ? path.join(dir, `node-${index}`) : dir;
}

/**
 * Every node's files. `local`: the files of servers run on this host under `dir`; `container`:
 * what the containers get (the render command without --local), one set per node.
 * `bcryptCost`: 10 as Pulumi's RandomPassword uses; tests pass less to start servers quickly.
 */
export function renderNodes(config: StackConfig, secrets: LocalSecrets, dir: string, kind: "local" | "container", bcryptCost = 10): LocalNodeFiles[] {
  const hashes = hashPasswords(config, (user) => secrets.credentials[user].password, bcryptCost);
  const route = secrets.routePassword ? routeSecret(secrets.routePassword, bcryptCost) : undefined;
  return clusterNodes(config).map((node) => {
    const at = nodeDir(config, dir, node.index);
    const target: RenderTarget = kind === "local" ? { kind: "local", dir: at } : { kind: "container" };
    return { index: node.index, dir: at, files: renderFiles(config, hashes, target, { node: node.index, route }) };
  });
}
