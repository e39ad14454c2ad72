// Config delivery to a node on another Docker host: the same apply-config.sh as on the machine
// running Pulumi (validate with the image's nats-server on that host, install, reload), run there
// over SSH by a command.remote.Command.
//
// The script is copied once per host (CopyToRemote, beside the nodes' config directories). The
// command gives it EVERYTHING on stdin, one secret input: the script's variables and the secret
// files, framed the way a cluster node's auth.conf and cluster.conf already are
// (configCommand.ts `framed`), and runs it as `apply-config.sh from-stdin`. Not in `environment`:
// the provider sends that as SSH environment requests, which sshd refuses unless AcceptEnv allows
// each name, and the provider then fails the command. So a remote node's plain inputs are its
// command lines (the script's path and mode); its connection is secret as a whole (the SDK marks
// it so), and a config change shows in preview as its secret stdin changing. The plain nats.conf
// and permissions entries that preview and the policies read are on the config command of a
// node on the machine running Pulumi (node 0 without dockerHost, docs/cluster.md).
import path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";
import { dockerHostTarget } from "../config/validateCluster";
import { remoteConfigBase as configBaseOnHost, RelativeRemoteConfigDirError } from "../config/remoteConfigDir";
import type { RenderedFiles } from "../render/files";
import { framed, secretFileEntries } from "./configCommand";
import { repoRoot, shellQuote } from "./natsStreams";

export { REMOTE_CONFIG_ROOT } from "../config/remoteConfigDir";
const SSH_PORT = 22;

/** config/remoteConfigDir.ts remoteConfigBase, its refusal stopping the program without a stack trace. */
function remoteConfigBase(config: StackConfig, configured?: string): string {
  try {
    return configBaseOnHost(config.docker.namePrefix, configured);
  } catch (error) {
    if (error instanceof RelativeRemoteConfigDirError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** How config files reach one host: the SSH connection and the script copied there. */
export interface RemoteDelivery {
  connection: command.types.input.remote.ConnectionArgs;
  /** Node 0's config directory were it on this host (remoteConfigBase); node i's is `<base>-i`. */
  configBase: string;
  /** The script's path on the host. */
  scriptPath: string;
  script: command.remote.CopyToRemote;
}

/** The SSH connection for an ssh:// dockerHost: its host, user and port; the key (secret) or agent from cluster.ssh. */
export function sshConnection(config: StackConfig, dockerHost: string): command.types.input.remote.ConnectionArgs {
  const target = dockerHostTarget(dockerHost);
  // config/validateCluster.ts refuses both before any resource exists.
  if (target.scheme !== "ssh" || !target.user) throw new pulumi.RunError(`nats-infra:cluster.nodes: config files reach ${dockerHost} over SSH only: give it as ssh://<user>@<host>`);
  const ssh = config.cluster.ssh ?? {};
  const hostKey = ssh.hostKeys?.[target.host];
  return {
    host: target.host,
    user: target.user,
    port: target.port ?? SSH_PORT,
    // The SDK marks the whole connection secret too; this keeps the key secret wherever it goes.
    ...(ssh.privateKey !== undefined ? { privateKey: pulumi.secret(ssh.privateKey) } : {}),
    ...(ssh.agentSocket !== undefined ? { agentSocketPath: ssh.agentSocket } : {}),
    ...(hostKey !== undefined ? { hostKey } : {}),
  };
}

/** Copies apply-config.sh to the host, beside the config directories: `<dirname(base)>/<namePrefix>-apply-config.sh`. */
export function createScriptCopy(
  name: string,
  args: { config: StackConfig; dockerHost: string; configured?: string },
  parent: pulumi.Resource,
): RemoteDelivery {
  const connection = sshConnection(args.config, args.dockerHost);
  const configBase = remoteConfigBase(args.config, args.configured);
  const scriptPath = path.posix.join(path.posix.dirname(configBase), `${args.config.docker.namePrefix}-apply-config.sh`);
  const script = new command.remote.CopyToRemote(
    name,
    { connection, source: new pulumi.asset.FileAsset(path.join(repoRoot(), "components", "apply-config.sh")), remotePath: scriptPath },
    { parent },
  );
  return { connection, configBase, scriptPath, script };
}

/** A remote config command's stdin: the script's variables, then the secret files, in one frame. */
export function remoteConfigStdin(variables: Record<string, string>, files: RenderedFiles): string {
  return framed([...Object.entries(variables), ...secretFileEntries(files)]);
}

export interface RemoteConfigCommandArgs {
  delivery: RemoteDelivery;
  /** Secret: remoteConfigStdin. */
  stdin: pulumi.Output<string>;
}

export function createRemoteConfigCommand(name: string, args: RemoteConfigCommandArgs, opts: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] }): command.remote.Command {
  const run = `bash ${shellQuote(args.delivery.scriptPath)} from-stdin`;
  return new command.remote.Command(
    name,
    {
      connection: args.delivery.connection,
      create: run,
      update: run,
      // The provider passes the last applied stdin to delete too: that names the directory.
      delete: `${run} delete`,
      stdin: args.stdin,
      // Would be sent as SSH environment requests too (and warned about when refused).
      addPreviousOutputInEnv: false,
      logging: "none",
    },
    { parent: opts.parent, dependsOn: [...opts.dependsOn, args.delivery.script] },
  );
}
