// NatsCluster: one NATS server on a Docker host with its config, passwords, JetStream volume,
// Surveyor and nats-box, built from a validated stack config. Auth changes are delivered by a
// command that rewrites the config files and reloads the server, never by replacing the
// container; settings the server cannot reload change a container label, which replaces it.
//
// A routed cluster (`nodes: 3`) would add one node (container, config command) per server from
// the same pieces: the passwords, network and rendered auth.conf are shared already.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";
import { jetstreamAdminUser, natsUsers, SURVEYOR_USER, TOOLS_USER } from "../config/users";
import { NATS_SERVER } from "../config/versions";
import { renderAuthConf } from "../render/authConf";
import { CONTAINER, renderNatsConf } from "../render/natsConf";
import { permissionsSummary } from "../render/permissionsSummary";
import { createPasswords, type UserSecret } from "./credentials";
import { hostAddress, natsContainerArgs } from "./natsContainerSpec";
import { NatsStreams } from "./natsStreams";
import { restartKey } from "./restartKey";
import { createNatsBox, createSurveyor } from "./sidecars";

export interface NatsClusterArgs {
  /** The validated stack config (config/load.ts parseStackConfig). */
  config: StackConfig;
  /** Absolute host directory for nats.conf and auth.conf; mounted read-only into the container. */
  configDir: string;
}

/** What an application needs to connect as one service. */
export interface ServiceCredential {
  user: string;
  password: string;
  account: string;
  url: string;
}

export class NatsCluster extends pulumi.ComponentResource {
  /** Per service: user, password, account and URL. Secret. */
  readonly credentials: pulumi.Output<Record<string, ServiceCredential>>;
  /** Where things listen on the Docker host (all on 127.0.0.1). */
  readonly endpoints: { client: string; monitor: string; surveyor?: string };
  /** Who may publish and subscribe to what, per user. Not secret: it is what preview shows. */
  readonly permissions: Record<string, string>;
  readonly natsContainer: docker.Container;
  readonly dataVolume: docker.Volume;
  /** Password and hash per NATS user (services and internal users). */
  readonly users: Record<string, UserSecret>;
  /** Per account with streams: the reconciler's user and password, for `npm run streams` by hand. Secret. */
  readonly jetstreamAdmins: pulumi.Output<Record<string, { user: string; password: string }>>;

  constructor(name: string, args: NatsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nats-infra:index:NatsCluster", name, {}, opts);
    const { config } = args;
    const prefix = config.docker.namePrefix;
    const child = { parent: this };

    this.users = createPasswords(name, natsUsers(config), this);
    this.permissions = permissionsSummary(config);

    const natsImageName = config.docker.nats.image ?? NATS_SERVER.image;
    const natsImage = new docker.RemoteImage(`${name}-nats-image`, { name: natsImageName, keepLocally: true }, child);
    const volumeName = config.docker.dataVolume ?? `${prefix}-jetstream`;
    const networkName = `${prefix}-net`;
    const network = new docker.Network(`${name}-network`, { name: networkName, driver: "bridge" }, child);
    // Retained: neither `pulumi destroy` nor a replacement deletes JetStream data. Recreating the
    // stack picks the same volume up again by name.
    this.dataVolume = new docker.Volume(
      `${name}-data`,
      {
        name: volumeName,
        // Policies cannot see retainOnDelete, so the volume says so (policies/jetstreamDataRetained.ts).
        labels: [{ label: "nats-infra.role", value: "jetstream-data" }, { label: "nats-infra.retain-on-delete", value: "true" }],
      },
      { ...child, retainOnDelete: true },
    );

    const hashes = pulumi.all(Object.fromEntries(Object.entries(this.users).map(([user, s]) => [user, s.bcryptHash])));
    const authConf = pulumi.secret(hashes.apply((h) => renderAuthConf(config, h)));
    const natsConf = renderNatsConf(config, { kind: "container" });
    const containerInputs = { config, image: natsImageName, configDir: args.configDir, volumeName, networkName };
    const key = restartKey(config, natsContainerArgs({ ...containerInputs, restartKey: "" }));
    const containerName = `${prefix}-nats`;
    const host = hostAddress(config.docker.bindAddress);
    const monitorUrl = `http://${host}:${config.server.monitorPort}`;

    // Writes, validates (with the image's own nats-server), swaps in and reloads the config.
    const applyConfig = new command.local.Command(
      `${name}-config`,
      {
        create: "bash components/apply-config.sh",
        update: "bash components/apply-config.sh",
        delete: "bash components/apply-config.sh delete",
        environment: {
          NATS_CONF: natsConf,
          CONFIG_DIR: args.configDir,
          NATS_CONTAINER: containerName,
          NATS_IMAGE: natsImageName,
          MONITOR_URL: monitorUrl,
          RESTART_KEY: key,
          VALIDATE_MOUNTS: validateMounts(config),
          ...this.permissions,
        },
        // Its own secret input: were it in `environment`, the whole map would show as [secret]
        // and preview could not say which service's permissions changed.
        stdin: authConf,
        logging: "none",
      },
      { ...child, dependsOn: [natsImage] },
    );

    this.natsContainer = new docker.Container(
      `${name}-nats`,
      natsContainerArgs({ ...containerInputs, restartKey: key }),
      {
        ...child,
        dependsOn: [applyConfig, natsImage, this.dataVolume, network],
        // Fixed name and host ports: the old container must go before the new one starts.
        deleteBeforeReplace: true,
        // The provider records a healthcheck change without applying it.
        replaceOnChanges: ["healthcheck"],
      },
    );

    const sidecars = { name, config, parent: this, network, nats: this.natsContainer };
    let surveyorUrl: string | undefined;
    if (config.docker.surveyor.enabled) {
      createSurveyor(sidecars, this.users[SURVEYOR_USER].password);
      surveyorUrl = `http://${host}:${config.docker.surveyor.port}/metrics`;
    }
    if (config.docker.natsBox.enabled) createNatsBox(sidecars, this.users[TOOLS_USER].password);

    const clientUrl = `nats://${host}:${config.server.clientPort}`;
    const streamAccounts = [...new Set(config.streams.map((s) => s.account))];
    const admins = Object.fromEntries(
      streamAccounts.map((account) => [account, { user: jetstreamAdminUser(account), password: this.users[jetstreamAdminUser(account)].password }]),
    );
    if (config.streams.length > 0) {
      // After the reload: the admin's rights name each declared stream, so a new stream needs
      // the new auth.conf loaded first.
      new NatsStreams(`${name}-streams`, { streams: config.streams, natsUrl: clientUrl, admins }, { parent: this, dependsOn: [this.natsContainer, applyConfig] });
    }
    this.jetstreamAdmins = pulumi.secret(
      pulumi.all(Object.fromEntries(streamAccounts.map((account) => [account, admins[account].password]))).apply((passwords) =>
        Object.fromEntries(Object.entries(passwords).map(([account, password]) => [account, { user: jetstreamAdminUser(account), password }])),
      ),
    );
    this.endpoints = { client: clientUrl, monitor: monitorUrl, surveyor: surveyorUrl };
    const services = new Set(config.services.map((s) => s.name));
    const servicePasswords = Object.fromEntries(Object.entries(this.users).filter(([user]) => services.has(user)).map(([user, s]) => [user, s.password]));
    this.credentials = pulumi.secret(
      pulumi.all(servicePasswords).apply((passwords) =>
        Object.fromEntries(
          Object.entries(passwords).map(([user, password]) => [user, { user, password, account: this.users[user].account, url: clientUrl }]),
        ),
      ),
    );

    this.registerOutputs({
      credentials: this.credentials,
      jetstreamAdmins: this.jetstreamAdmins,
      endpoints: this.endpoints,
      permissions: this.permissions,
      natsContainer: this.natsContainer.name,
      dataVolume: this.dataVolume.name,
    });
  }
}

/** TLS files for the throwaway container that validates config before the server exists. */
function validateMounts(config: StackConfig): string {
  const { tls } = config;
  if (!tls) return "";
  const mounts = [`${tls.cert}:${CONTAINER.tlsDir}/cert.pem:ro`, `${tls.key}:${CONTAINER.tlsDir}/key.pem:ro`];
  if (tls.ca) mounts.push(`${tls.ca}:${CONTAINER.tlsDir}/ca.pem:ro`);
  return mounts.join(" ");
}
