// NatsStreams: the declared JetStream streams, one command resource per account. Each command
// runs the reconciler (cli/streams.ts) for that account's streams on the machine running Pulumi.
//
// One command per account, not per stream: a first `pulumi up` with 100 streams would otherwise
// start 100 reconciler processes at once (measured with `npm run bench -- reconcile`: figures
// in docs/benchmarks.md, about 48x slower and 87x the memory). Preview still names the
// stream and the field, because the account's streams are stdin as JSON keyed by stream name:
// `~ nats-streams-APP  stdin: (json) { ~ streams: { ~ EVENTS: { ~ maxMsgs: 1000000 => 2000000 } } }`.
// Removing a stream updates its account's command, whose plan says the stream is kept; removing
// an account's last stream deletes the command, which deletes nothing on the server either.
//
// The streams go in on stdin: a plain input, so preview diffs them field by field. The admin
// password goes in the environment, marked secret (which makes the SDK mark the whole environment
// secret, hence stdin for the config). Nothing secret is on the command line, and the reconciler
// never prints credentials, so its output is logged.
import { existsSync } from "node:fs";
import path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig, StreamConfig } from "../config/schema";
import { accountStdin } from "../streams/contract";

/** The stdin the command gets (streams/contract.ts holds both sides); the benchmarks build the same. */
export { accountStdin };

export interface NatsStreamsArgs {
  /** Validated stream declarations (StackConfig["streams"]). */
  streams: StreamConfig[];
  /** KV buckets and object stores (StackConfig["kv"], ["objectStores"]); an account's stdin holds them only when it has some. */
  kv?: StackConfig["kv"];
  objectStores?: StackConfig["objectStores"];
  /** URL of the server as reached from the machine running Pulumi, e.g. nats://127.0.0.1:4222 */
  natsUrl: pulumi.Input<string>;
  /** JetStream admin credentials per account name (user from jetstreamAdminUser(account)); password is a secret Output. */
  admins: Record<string, { user: string; password: pulumi.Input<string> }>;
}

/** The repository root (holds cli/streams.ts), found from here whether run from source or a build. */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "cli", "streams.ts"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`NatsStreams: cannot find cli/streams.ts above ${from}`);
  }
}

/** One argument for /bin/sh, quoted so that spaces or quotes in the repo path stay literal. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The shell text that runs one of the repository's TypeScript entry points (`cli/<name>.ts`) with its own tsx. */
export function tsxCommand(root: string, script: string): string {
  return `${shellQuote(path.join(root, "node_modules", ".bin", "tsx"))} ${shellQuote(path.join(root, script))}`;
}

export function streamCommands(root = repoRoot()): { apply: string; forget: string } {
  const run = tsxCommand(root, path.join("cli", "streams.ts"));
  return { apply: `${run} apply --from-stdin`, forget: `${run} forget --from-stdin` };
}

export class NatsStreams extends pulumi.ComponentResource {
  /** The command per account, keyed by account name. */
  readonly commands: Record<string, command.local.Command>;

  constructor(name: string, args: NatsStreamsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nats-infra:index:NatsStreams", name, {}, opts);
    const root = repoRoot();
    const { apply, forget } = streamCommands(root);
    this.commands = {};
    for (const [account, streams] of streamsByAccount(args.streams, [...(args.kv ?? []), ...(args.objectStores ?? [])])) {
      const admin = args.admins[account];
      const kv = (args.kv ?? []).filter((b) => b.account === account);
      const objectStores = (args.objectStores ?? []).filter((o) => o.account === account);
      if (!admin) {
        const first = streams[0] ? `stream ${streams[0].name}` : kv[0] ? `KV bucket ${kv[0].bucket}` : `object store ${objectStores[0].store}`;
        throw new Error(
          `NatsStreams: ${first} is in account ${account}, but admins has no entry for it; ` +
            `pass admins["${account}"] = { user: jetstreamAdminUser("${account}"), password }`,
        );
      }
      this.commands[account] = new command.local.Command(
        `${name}-${account}`,
        {
          create: apply,
          update: apply,
          // Runs when the account's last stream leaves the config (or on destroy): says they are kept, deletes nothing.
          delete: forget,
          dir: root,
          stdin: accountStdin(account, streams, { kv, objectStores }),
          environment: {
            NATS_URL: args.natsUrl,
            NATS_USER: admin.user,
            NATS_PASSWORD: pulumi.secret(admin.password),
          },
          // The previous stdout is not needed, and an extra environment entry would only add noise.
          addPreviousOutputInEnv: false,
          // The plan is the point of the output; it holds names and settings, never credentials.
          logging: "stdoutAndStderr",
        },
        // Children do not wait for their parent's dependencies by themselves.
        { parent: this, dependsOn: opts?.dependsOn },
      );
    }
    this.registerOutputs({});
  }
}

/** Streams per account, in declaration order; an account with only buckets or stores gets none. */
function streamsByAccount(streams: StreamConfig[], stores: { account: string }[]): Map<string, StreamConfig[]> {
  const byAccount = new Map<string, StreamConfig[]>();
  for (const stream of streams) byAccount.set(stream.account, [...(byAccount.get(stream.account) ?? []), stream]);
  for (const { account } of stores) if (!byAccount.has(account)) byAccount.set(account, []);
  return byAccount;
}
