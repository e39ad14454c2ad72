// `npm run render -- --stack-file Pulumi.dev.yaml --out dir [--local] [--credentials file]`:
// writes nats.conf, auth.conf and credentials.json for inspection or for a nats-server run by
// hand, like `helm template`. Nothing is written unless the whole config is valid.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Credential } from "../config/credentials";
import { parseStackConfig, readStackFile } from "../config/load";
import { AUTH_CONF_FILE, NATS_CONF_FILE } from "../render/natsConf";
import { localSecrets, renderNodes, type LocalNodeFiles, type LocalSecrets } from "../ops/localRender";
import { parseFlags, processOutput, runCommand, UsageError, type Output } from "./args";
import { writePrivate, writeRenderedFiles } from "../ops/files";

/** Beside credentials.json in a cluster: the route password (owner-only). */
export const ROUTE_FILE = "cluster-route.json";

export const USAGE = `usage: npx nats-infra render --stack-file Pulumi.<stack>.yaml --out <dir> [--local] [--credentials <credentials.json>]
       (npm run render -- ... is the same)
  --local        render for nats-servers on this host (127.0.0.1, the stack's ports, data under <dir>)
  --credentials  reuse the passwords of an earlier credentials.json (new users get new ones)

A cluster (nats-infra:cluster.nodes above 1) is rendered one directory per node, <dir>/node-<i>/,
and its route password is kept in <dir>/${ROUTE_FILE} beside credentials.json.`;

/** Renders the stack file; `previous` passwords are kept for users (and the route) that still exist. */
export function renderStack(
  stackFile: string,
  options: { local?: string; previous?: Partial<LocalSecrets> },
): { nodes: LocalNodeFiles[]; secrets: LocalSecrets; warnings: string[] } {
  const { config, warnings } = parseStackConfig(readStackFile(stackFile));
  const secrets = localSecrets(config, options.previous, options.local ? "local" : "container");
  const nodes = renderNodes(config, secrets, options.local ?? "", options.local ? "local" : "container");
  return { nodes, secrets, warnings: warnings.map((w) => `${w.path}: ${w.message}`) };
}

/** The command itself, on arguments and output streams: exit code 0, 1 (an error), 2 (bad usage or config). */
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
      // Node directories are relative to --out for the container target (its files name no host path).
      for (const node of rendered.nodes) writeRenderedFiles(path.resolve(out, node.dir), node.files);
      writePrivate(path.join(out, "credentials.json"), JSON.stringify(rendered.secrets.credentials, null, 2) + "\n");
      if (rendered.secrets.routePassword) writePrivate(path.join(out, ROUTE_FILE), JSON.stringify({ routePassword: rendered.secrets.routePassword }) + "\n");
      const perNode = rendered.nodes.length > 1 ? ` (one directory per node: node-0 .. node-${rendered.nodes.length - 1})` : "";
      output.out(`wrote ${NATS_CONF_FILE}, ${AUTH_CONF_FILE} and credentials.json to ${out}${perNode}\n`);
    },
    output,
  );
}

/** An earlier credentials.json (and its route password); refused with the reason rather than silently replaced passwords. */
function readCredentials(file: string): Partial<LocalSecrets> {
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
  const routeFile = path.join(path.dirname(file), ROUTE_FILE);
  const routePassword = existsSync(routeFile) ? (JSON.parse(readFileSync(routeFile, "utf8")) as { routePassword?: string }).routePassword : undefined;
  return { credentials: parsed as Record<string, Credential>, routePassword };
}

if (require.main === module) void render(process.argv.slice(2)).then((code) => (process.exitCode = code));
