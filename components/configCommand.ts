// The command that delivers nats.conf and auth.conf to the Docker host: it writes them, validates
// them with the image's own nats-server, swaps them in and reloads the server (apply-config.sh).
// Auth changes therefore never replace the container.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";
import { CONTAINER, containerTlsMounts, LABELS } from "../config/container";

export interface ConfigCommandArgs {
  config: StackConfig;
  natsConf: string;
  /** Secret: holds every user's bcrypt hash. */
  authConf: pulumi.Output<string>;
  configDir: string;
  containerName: string;
  image: string;
  monitorUrl: string;
  restartKey: string;
  /** One plain entry per user (permissionsSummary): what preview shows of an auth change. */
  permissions: Record<string, string>;
}

const SCRIPT = "bash components/apply-config.sh";

/** The script's view of the container, from the one definition the component mounts and labels by. */
export const SCRIPT_CONTAINER_ENV = {
  CONTAINER_CONFIG_DIR: CONTAINER.configDir,
  RESTART_KEY_LABEL: LABELS.restartKey,
} as const;

export function createConfigCommand(name: string, args: ConfigCommandArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: SCRIPT,
      update: SCRIPT,
      delete: `${SCRIPT} delete`,
      environment: {
        NATS_CONF: args.natsConf,
        CONFIG_DIR: args.configDir,
        NATS_CONTAINER: args.containerName,
        NATS_IMAGE: args.image,
        MONITOR_URL: args.monitorUrl,
        RESTART_KEY: args.restartKey,
        VALIDATE_MOUNTS: validateMounts(args.config),
        ...SCRIPT_CONTAINER_ENV,
        ...args.permissions,
      },
      // Its own secret input: were it in `environment`, the whole map would show as [secret]
      // and preview could not say which service's permissions changed.
      stdin: args.authConf,
      logging: "none",
    },
    opts,
  );
}

/** TLS files for the throwaway container that validates config before the server exists. */
function validateMounts(config: StackConfig): string {
  if (!config.tls) return "";
  return containerTlsMounts(config.tls).map(({ source, target }) => `${source}:${target}:ro`).join(" ");
}
