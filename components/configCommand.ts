// The command that delivers a server's config files to the Docker host: it writes them,
// validates them with the image's own nats-server, swaps them in and reloads the server
// (apply-config.sh). Auth changes therefore never replace the container.
//
// nats.conf is plain environment (preview shows it). The files that hold credentials go on
// stdin, a secret input of their own: auth.conf alone for a single server, exactly as before
// clusters existed; in a cluster auth.conf and cluster.conf in one framed text (secretFilesStdin).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { SYSTEM_ACCOUNT, type StackConfig } from "../config/schema";
import { CONTAINER, LABELS } from "../config/container";
import { AUTH_CONF_FILE, CLUSTER_CONF_FILE } from "../render/natsConf";
import type { RenderedFiles } from "../render/files";
import { hostTlsFiles } from "./natsContainerSpec";
import { RUNNING_SETTINGS_FILE } from "./rolloutContract";

/** What apply-config.sh is told about one node (scriptVariables). */
export interface ScriptArgs {
  config: StackConfig;
  natsConf: string;
  configDir: string;
  containerName: string;
  image: string;
  monitorUrl: string;
  /** The value the container's label must carry for a reload (restartKey, or containerSpecKey in a cluster). */
  restartKey: string;
  /**
   * In a cluster: the node's restart-class settings (nodeSettingsKey). The script reloads only a
   * server started with these settings; otherwise it installs the files and the rollout command
   * restarts the node.
   */
  settingsKey?: string;
}

export interface ConfigCommandArgs extends ScriptArgs {
  /** Secret: auth.conf (every user's bcrypt hash), framed with cluster.conf in a cluster (secretFilesStdin). */
  stdin: pulumi.Output<string>;
  /** One plain entry per user (permissionsSummary): what preview shows of an auth change. Empty on cluster nodes other than 0. */
  permissions: Record<string, string>;
}

const SCRIPT = "bash components/apply-config.sh";

/** The script's view of the container, from the one definition the component mounts and labels by. */
export const SCRIPT_CONTAINER_ENV = {
  CONTAINER_CONFIG_DIR: CONTAINER.configDir,
  RESTART_KEY_LABEL: LABELS.restartKey,
} as const;

/**
 * First line of a framed stdin: this marker, then `<file> <bytes>` per file; the files' bytes
 * follow back to back. Byte counts rather than boundary lines, so no content can end a file
 * early. A single server's stdin is auth.conf alone, which starts with a `# Generated` comment.
 */
export const FRAME_MARKER = "#nats-infra-files v1";

/** Named entries in one text: FRAME_MARKER and `<name> <bytes>` per entry on the first line, then the entries' bytes back to back. */
export function framed(entries: readonly (readonly [string, string])[]): string {
  const header = [FRAME_MARKER, ...entries.map(([name, content]) => `${name} ${Buffer.byteLength(content, "utf8")}`)].join(" ");
  return `${header}\n${entries.map(([, content]) => content).join("")}`;
}

/** The files that hold credentials, as frame entries: auth.conf, and in a cluster cluster.conf. */
export function secretFileEntries(files: RenderedFiles): [string, string][] {
  return [[AUTH_CONF_FILE, files.authConf], ...(files.clusterConf === undefined ? [] : [[CLUSTER_CONF_FILE, files.clusterConf] as [string, string]])];
}

/** What the config command gets on stdin for these rendered files. */
export function secretFilesStdin(files: RenderedFiles): string {
  if (files.clusterConf === undefined) return files.authConf;
  return framed(secretFileEntries(files));
}

/**
 * Where a node's JetStream data lives in its container, for the script's check that a node does
 * not start clustered on a single server's streams: a cluster deletes those as orphans
 * (nats-server #5467). A clustered server keeps its meta group under <system account>/_js_.
 */
const JETSTREAM_LAYOUT_ENV = {
  JETSTREAM_DIR: `${CONTAINER.dataDir}/jetstream`,
  JETSTREAM_META_DIR: `${CONTAINER.dataDir}/jetstream/${SYSTEM_ACCOUNT}/_js_`,
} as const;

/**
 * The variables apply-config.sh reads about one node: in its environment for a command on the
 * machine running Pulumi, on its framed stdin for one on another Docker host (remoteConfigCommand.ts).
 */
export function scriptVariables(args: ScriptArgs): Record<string, string> {
  // Only cluster nodes know these; a single server's environment stays what it always was.
  const clusterEnv: Record<string, string> =
    args.settingsKey === undefined ? {} : { SETTINGS_KEY: args.settingsKey, SETTINGS_KEY_FILE: RUNNING_SETTINGS_FILE, ...JETSTREAM_LAYOUT_ENV };
  return {
    NATS_CONF: args.natsConf,
    CONFIG_DIR: args.configDir,
    NATS_CONTAINER: args.containerName,
    NATS_IMAGE: args.image,
    MONITOR_URL: args.monitorUrl,
    RESTART_KEY: args.restartKey,
    VALIDATE_MOUNTS: validateMounts(args.config),
    ...SCRIPT_CONTAINER_ENV,
    ...clusterEnv,
  };
}

export function createConfigCommand(name: string, args: ConfigCommandArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: SCRIPT,
      update: SCRIPT,
      delete: `${SCRIPT} delete`,
      environment: { ...scriptVariables(args), ...args.permissions },
      // Its own secret input: were it in `environment`, the whole map would show as [secret]
      // and preview could not say which service's permissions changed.
      stdin: args.stdin,
      logging: "none",
    },
    opts,
  );
}

/** TLS files for the throwaway container that validates config before the server exists. */
function validateMounts(config: StackConfig): string {
  return hostTlsFiles(config).map(({ source, target }) => `${source}:${target}:ro`).join(" ");
}
