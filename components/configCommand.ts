// The command that delivers nats.conf and auth.conf to the Docker host: it writes them, validates
// them with the image's own nats-server, swaps them in and reloads the server (apply-config.sh).
// Auth changes therefore never replace the container.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";
import { CONTAINER } from "../render/natsConf";

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
  const { tls } = config;
  if (!tls) return "";
  const mounts = [`${tls.cert}:${CONTAINER.tlsDir}/cert.pem:ro`, `${tls.key}:${CONTAINER.tlsDir}/key.pem:ro`];
  if (tls.ca) mounts.push(`${tls.ca}:${CONTAINER.tlsDir}/ca.pem:ro`);
  return mounts.join(" ");
}
