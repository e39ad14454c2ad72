// The files a server reads, rendered together: nats.conf (which `include`s the others by their
// relative names), auth.conf and, in a cluster, cluster.conf. Every producer of config files —
// the component, the render command, the dev server, the tests and the benchmarks — goes
// through here, so "which users, which hashes, which node, which target" is answered in one
// place. Pure: cli/files.ts writes them.
import bcrypt from "bcryptjs";
import { isClustered } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import { natsUsers } from "../config/users";
import { renderAuthConf, type PasswordHashes } from "./authConf";
import { renderClusterConf, type RouteSecret } from "./clusterConf";
import { renderNatsConf, type RenderTarget } from "./natsConf";

export interface RenderedFiles {
  natsConf: string;
  /** Holds bcrypt hashes only; still written owner-only, as it names every user. */
  authConf: string;
  /** In a cluster only: holds the route password in plain text (owner-only). */
  clusterConf?: string;
}

export interface RenderOptions {
  /** Which server of a cluster (config/cluster.ts); 0 for a single server. */
  node?: number;
  /** The route credentials; required in a cluster. */
  route?: RouteSecret;
}

export function renderFiles(config: StackConfig, hashes: PasswordHashes, target: RenderTarget, options: RenderOptions = {}): RenderedFiles {
  const node = options.node ?? 0;
  const files: RenderedFiles = { natsConf: renderNatsConf(config, target, node), authConf: renderAuthConf(config, hashes) };
  if (isClustered(config)) {
    if (!options.route) throw new Error("a cluster needs the route credentials to render cluster.conf");
    files.clusterConf = renderClusterConf(config, options.route, target, node);
  }
  return files;
}

/**
 * bcrypt hashes for every NATS user of the config, from a password per user. Pulumi's
 * RandomPassword computes its own hash (cost 10); this serves everything that runs without it.
 * Tests pass a low cost to start servers quickly: nats-server accepts any cost.
 */
export function hashPasswords(config: StackConfig, passwordOf: (user: string) => string, cost = 10): PasswordHashes {
  return Object.fromEntries(natsUsers(config).map((u) => [u.user, bcrypt.hashSync(passwordOf(u.user), cost)]));
}

/** Route credentials from a plaintext password. */
export function routeSecret(password: string, cost = 10): RouteSecret {
  return { password, hash: bcrypt.hashSync(password, cost) };
}
