// The stacks and render targets the golden files are made from, shared by the pure render tests
// (bytes equal the reviewed files) and the server tests (nats-server accepts those files).
import path from "node:path";
import bcrypt from "bcryptjs";
import { parseStackConfig, readStackFile } from "../../config/load";
import type { StackConfig } from "../../config/schema";
import { natsUsers } from "../../config/users";
import type { PasswordHashes } from "../../render/authConf";
import type { RenderTarget } from "../../render/natsConf";
import { DEV_STACK_FIXTURE, REPO_ROOT } from "./tools";

export const GOLDEN_DIR = path.join(REPO_ROOT, "test", "golden");

/** A fixed directory for the local target, so that its golden file does not depend on the machine. */
const LOCAL_DIR = "/var/lib/nats-infra-golden";
/** Real bcrypt hashes of `pw-<user>` with a fixed salt: deterministic, and a server accepts them. */
export const FIXED_SALT = "$2a$04$natsinfragoldensaltxxu";

export const goldenStacks = {
  dev: DEV_STACK_FIXTURE,
  accounts: path.join(REPO_ROOT, "test", "fixtures", "Pulumi.accounts.yaml"),
};
export type GoldenStack = keyof typeof goldenStacks;
export const goldenStackNames = Object.keys(goldenStacks) as GoldenStack[];

export const goldenTargets: [string, RenderTarget][] = [
  ["container", { kind: "container" }],
  ["local", { kind: "local", dir: LOCAL_DIR }],
];

export function loadGoldenStack(stack: GoldenStack): StackConfig {
  return parseStackConfig(readStackFile(goldenStacks[stack])).config;
}

export function fixedHashes(config: StackConfig): PasswordHashes {
  return Object.fromEntries(natsUsers(config).map((u) => [u.user, bcrypt.hashSync(`pw-${u.user}`, FIXED_SALT)]));
}
