// The two files a server reads, rendered together: nats.conf (which `include`s auth.conf by its
// relative name) and auth.conf. Every producer of config files — the component, the render
// command, the dev server, the tests and the benchmarks — goes through here, so "which users,
// which hashes, which target" is answered in one place. Pure: cli/files.ts writes them.
import bcrypt from "bcryptjs";
import type { StackConfig } from "../config/schema";
import { natsUsers } from "../config/users";
import { renderAuthConf, type PasswordHashes } from "./authConf";
import { renderNatsConf, type RenderTarget } from "./natsConf";

export interface RenderedFiles {
  natsConf: string;
  /** Holds bcrypt hashes only; still written owner-only, as it names every user. */
  authConf: string;
}

export function renderFiles(config: StackConfig, hashes: PasswordHashes, target: RenderTarget): RenderedFiles {
  return { natsConf: renderNatsConf(config, target), authConf: renderAuthConf(config, hashes) };
}

/**
 * bcrypt hashes for every NATS user of the config, from a password per user. Pulumi's
 * RandomPassword computes its own hash (cost 10); this serves everything that runs without it.
 * Tests pass a low cost to start servers quickly: nats-server accepts any cost.
 */
export function hashPasswords(config: StackConfig, passwordOf: (user: string) => string, cost = 10): PasswordHashes {
  return Object.fromEntries(natsUsers(config).map((u) => [u.user, bcrypt.hashSync(passwordOf(u.user), cost)]));
}
