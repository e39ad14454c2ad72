// `npm run render -- --stack-file Pulumi.dev.yaml --out dir [--local] [--credentials file]`:
// writes nats.conf, auth.conf and credentials.json for inspection or for a nats-server run by
// hand, like `helm template`. Nothing is written unless the whole config is valid.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import bcrypt from "bcryptjs";
import { parseStackConfig, readStackFile } from "../config/load";
import { PASSWORD_ALPHABET, PASSWORD_LENGTH } from "../config/passwords";
import { natsUsers } from "../config/users";
import { renderAuthConf } from "../render/authConf";
import { AUTH_CONF_FILE, NATS_CONF_FILE, renderNatsConf } from "../render/natsConf";
import { parseFlags, runMain, UsageError } from "./args";

const USAGE = `usage: npm run render -- --stack-file Pulumi.<stack>.yaml --out <dir> [--local] [--credentials <credentials.json>]
  --local        render for a nats-server on this host (127.0.0.1, the stack's ports, data under <dir>)
  --credentials  reuse the passwords of an earlier credentials.json (new users get new ones)`;

export interface Credential {
  user: string;
  password: string;
  account: string;
}


export function generatePassword(length = PASSWORD_LENGTH): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length]).join("");
}

export interface RenderedFiles {
  natsConf: string;
  authConf: string;
  credentials: Record<string, Credential>;
}

/** Renders the stack file; `previous` passwords are kept for users that still exist. */
export function renderStack(stackFile: string, options: { local?: string; previous?: Record<string, Credential> }): RenderedFiles & { warnings: string[] } {
  const { config, warnings } = parseStackConfig(readStackFile(stackFile));
  const credentials: Record<string, Credential> = {};
  const hashes: Record<string, string> = {};
  for (const user of natsUsers(config)) {
    const password = options.previous?.[user.user]?.password ?? generatePassword();
    credentials[user.user] = { user: user.user, password, account: user.account };
    hashes[user.user] = bcrypt.hashSync(password, 10);
  }
  const target = options.local ? { kind: "local" as const, dir: options.local } : { kind: "container" as const };
  return {
    natsConf: renderNatsConf(config, target),
    authConf: renderAuthConf(config, hashes),
    credentials,
    warnings: warnings.map((w) => `${w.path}: ${w.message}`),
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { strings: ["stack-file", "out", "credentials"], booleans: ["local", "help"] });
  if (flags.help) return void process.stdout.write(`${USAGE}\n`);
  if (typeof flags["stack-file"] !== "string") throw new UsageError("--stack-file is required");
  if (typeof flags.out !== "string") throw new UsageError("--out is required");
  const out = path.resolve(flags.out);
  const previous = typeof flags.credentials === "string" ? readCredentials(flags.credentials) : undefined;
  const rendered = renderStack(flags["stack-file"], { local: flags.local ? out : undefined, previous });
  for (const warning of rendered.warnings) process.stderr.write(`warning: ${warning}\n`);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, NATS_CONF_FILE), rendered.natsConf);
  writePrivate(path.join(out, AUTH_CONF_FILE), rendered.authConf);
  writePrivate(path.join(out, "credentials.json"), JSON.stringify(rendered.credentials, null, 2) + "\n");
  process.stdout.write(`wrote ${NATS_CONF_FILE}, ${AUTH_CONF_FILE} and credentials.json to ${out}\n`);
}

/** Owner-only, also when the file already existed (writeFileSync's mode applies only on create). */
function writePrivate(file: string, content: string): void {
  if (existsSync(file)) chmodSync(file, 0o600); // before the secret goes in
  writeFileSync(file, content, { mode: 0o600 });
}

/** An earlier credentials.json; refused with the reason rather than silently replaced passwords. */
function readCredentials(file: string): Record<string, Credential> {
  if (!existsSync(file)) throw new UsageError(`--credentials: no file at ${file}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`--credentials: ${file} is not JSON (${(error as Error).message})`);
  }
  const entries = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
  const bad = entries?.find(([, c]) => typeof (c as Credential | null)?.password !== "string" || !(c as Credential).password);
  if (!entries || bad) {
    throw new Error(`--credentials: ${file} is not a credentials.json written by this command (expected {"<user>": {"user", "password", "account"}}${bad ? `; entry "${bad[0]}" has no password` : ""})`);
  }
  return parsed as Record<string, Credential>;
}

if (require.main === module) runMain(USAGE, main);
