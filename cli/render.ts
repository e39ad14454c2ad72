// `npm run render -- --stack-file Pulumi.dev.yaml --out dir [--local] [--credentials file]`:
// writes nats.conf, auth.conf and credentials.json for inspection or for a nats-server run by
// hand, like `helm template`. Nothing is written unless the whole config is valid.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { endpoints } from "../config/endpoints";
import { parseStackConfig, readStackFile } from "../config/load";
import { PASSWORD_ALPHABET, PASSWORD_LENGTH } from "../config/passwords";
import { natsUsers } from "../config/users";
import { hashPasswords, renderFiles, type RenderedFiles } from "../render/files";
import { AUTH_CONF_FILE, NATS_CONF_FILE } from "../render/natsConf";
import { parseFlags, processOutput, runCommand, UsageError, type Output } from "./args";
import { writePrivate, writeRenderedFiles } from "./files";

export const USAGE = `usage: npm run render -- --stack-file Pulumi.<stack>.yaml --out <dir> [--local] [--credentials <credentials.json>]
  --local        render for a nats-server on this host (127.0.0.1, the stack's ports, data under <dir>)
  --credentials  reuse the passwords of an earlier credentials.json (new users get new ones)`;

/** What an application needs to connect as one user; the file holds one per user. */
export interface Credential {
  user: string;
  password: string;
  account: string;
  /** The client URL of the rendered target (the Docker host's published port, or loopback with --local). */
  url: string;
}

export function generatePassword(length = PASSWORD_LENGTH): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length]).join("");
}

/** Renders the stack file; `previous` passwords are kept for users that still exist. */
export function renderStack(
  stackFile: string,
  options: { local?: string; previous?: Record<string, Pick<Credential, "password">> },
): RenderedFiles & { credentials: Record<string, Credential>; warnings: string[] } {
  const { config, warnings } = parseStackConfig(readStackFile(stackFile));
  const url = endpoints(config, options.local ? "local" : "container").client;
  const credentials: Record<string, Credential> = {};
  for (const { user, account } of natsUsers(config)) {
    credentials[user] = { user, password: options.previous?.[user]?.password ?? generatePassword(), account, url };
  }
  const hashes = hashPasswords(config, (user) => credentials[user].password);
  const target = options.local ? { kind: "local" as const, dir: options.local } : { kind: "container" as const };
  return { ...renderFiles(config, hashes, target), credentials, warnings: warnings.map((w) => `${w.path}: ${w.message}`) };
}

/** The command itself, on arguments and output streams: exit code 0, 1, 2 (bad config) or 64 (usage). */
export function render(argv: string[], output: Output = processOutput): Promise<number> {
  return runCommand(
    USAGE,
    async () => {
      const flags = parseFlags(argv, { strings: ["stack-file", "out", "credentials"], booleans: ["local", "help"] });
      if (flags.help) return output.out(`${USAGE}\n`);
      if (typeof flags["stack-file"] !== "string") throw new UsageError("--stack-file is required");
      if (typeof flags.out !== "string") throw new UsageError("--out is required");
      const out = path.resolve(flags.out);
      const previous = typeof flags.credentials === "string" ? readCredentials(flags.credentials) : undefined;
      const rendered = renderStack(flags["stack-file"], { local: flags.local ? out : undefined, previous });
      for (const warning of rendered.warnings) output.err(`warning: ${warning}\n`);
      writeRenderedFiles(out, rendered);
      writePrivate(path.join(out, "credentials.json"), JSON.stringify(rendered.credentials, null, 2) + "\n");
      output.out(`wrote ${NATS_CONF_FILE}, ${AUTH_CONF_FILE} and credentials.json to ${out}\n`);
    },
    output,
  );
}

/** An earlier credentials.json; refused with the reason rather than silently replaced passwords. */
function readCredentials(file: string): Record<string, Pick<Credential, "password">> {
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
    throw new Error(`--credentials: ${file} is not a credentials.json written by this command (expected {"<user>": {"user", "password", "account", "url"}}${bad ? `; entry "${bad[0]}" has no password` : ""})`);
  }
  return parsed as Record<string, Pick<Credential, "password">>;
}

if (require.main === module) void render(process.argv.slice(2)).then((code) => (process.exitCode = code));
