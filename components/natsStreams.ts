// NatsStreams: the declared JetStream streams, one command resource per stream. Each command runs
// the reconciler (tools/streams.ts) for its stream on the machine running Pulumi.
//
// One command per stream, not per account, because that is what a person reads in a preview:
// `~ streams-APP-EVENTS  stdin: (json) { maxMsgs: 1000000 => 2000000 }` names the stream and the
// field. Only changed streams run; a stream the server refuses fails alone and leaves the others
// applied; removing a stream deletes only its command, which deletes nothing on the server.
//
// The stream's validated config goes in on stdin: a plain input, so preview diffs it field by
// field. The admin password goes in the environment, marked secret (which makes the SDK mark the
// whole environment secret, hence stdin for the config). Nothing secret is on the command line,
// and the reconciler never prints credentials, so its output is logged.
import { existsSync } from "node:fs";
import path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StreamConfig } from "../config/schema";

export interface NatsStreamsArgs {
  /** Validated stream declarations (StackConfig["streams"]). */
  streams: StreamConfig[];
  /** URL of the server as reached from the machine running Pulumi, e.g. nats://127.0.0.1:4222 */
  natsUrl: pulumi.Input<string>;
  /** JetStream admin credentials per account name (user from jetstreamAdminUser(account)); password is a secret Output. */
  admins: Record<string, { user: string; password: pulumi.Input<string> }>;
}

/** The repository root (holds tools/streams.ts), found from here whether run from source or a build. */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "tools", "streams.ts"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`NatsStreams: cannot find tools/streams.ts above ${from}`);
  }
}

/** One argument for /bin/sh, quoted so that spaces or quotes in the repo path stay literal. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function streamCommands(root = repoRoot()): { apply: string; forget: string } {
  const run = `${shellQuote(path.join(root, "node_modules", ".bin", "tsx"))} ${shellQuote(path.join(root, "tools", "streams.ts"))}`;
  return { apply: `${run} apply --from-stdin`, forget: `${run} forget --from-stdin` };
}

export class NatsStreams extends pulumi.ComponentResource {
  /** The command per stream, keyed `<account>/<stream>`. */
  readonly commands: Record<string, command.local.Command>;

  constructor(name: string, args: NatsStreamsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nats-infra:index:NatsStreams", name, {}, opts);
    const root = repoRoot();
    const { apply, forget } = streamCommands(root);
    this.commands = {};
    for (const stream of args.streams) {
      const admin = args.admins[stream.account];
      if (!admin) {
        throw new Error(
          `NatsStreams: stream ${stream.name} is in account ${stream.account}, but admins has no entry for it; ` +
            `pass admins["${stream.account}"] = { user: jetstreamAdminUser("${stream.account}"), password }`,
        );
      }
      this.commands[`${stream.account}/${stream.name}`] = new command.local.Command(
        `${name}-${stream.account}-${stream.name}`,
        {
          create: apply,
          update: apply,
          // Runs when the stream leaves the config (or on destroy): says it is kept, deletes nothing.
          delete: forget,
          dir: root,
          stdin: JSON.stringify(stream),
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
