// NatsCluster: one NATS server on a Docker host with its config, passwords, JetStream volume,
// Surveyor and nats-box, built from the stack config shape (the `nats-infra:*` keys of
// Pulumi.<stack>.yaml, or the same object from another Pulumi program), which it validates.
// Auth changes are delivered by a command that rewrites the config files and reloads the
// server, never by replacing the container; settings the server cannot reload change a
// container label (the restart key), which replaces it.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LABELS } from "../config/container";
import { endpoints, type Endpoints } from "../config/endpoints";
import type { StackConfig, StackConfigInput } from "../config/schema";
import { jetstreamAdminUser, natsUsers, SURVEYOR_USER, TOOLS_USER } from "../config/users";
import { NATS_SERVER } from "../config/versions";
import { renderAuthConf } from "../render/authConf";
import { renderNatsConf } from "../render/natsConf";
import { permissionsSummary } from "../render/permissionsSummary";
import { createConfigCommand } from "./configCommand";
import { createPasswords, type UserSecret } from "./credentials";
import { destroyGraceSeconds, natsContainerArgs } from "./natsContainerSpec";
import { NatsStreams } from "./natsStreams";
import { restartKey } from "./restartKey";
import { createNatsBox, createSurveyor } from "./sidecars";
import { defaultConfigDir, readStackConfig, validatedConfig } from "./stackConfig";

export interface NatsClusterArgs {
  /** The stack config shape (services, accounts, jetstream, server, tls, docker, streams); validated and defaulted here. */
  config: StackConfigInput;
  /** Host directory for nats.conf and auth.conf, mounted read-only. Default: `docker.configDir`, else `.nats-infra/<stack>/config`. */
  configDir?: string;
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
  /** Where things listen on the Docker host (on `docker.bindAddress`, 127.0.0.1 by default). */
  readonly endpoints: Endpoints;
  /** Who may publish and subscribe to what, per user. Not secret: it is what preview shows. */
  readonly permissions: Record<string, string>;
  readonly natsContainer: docker.Container;
  readonly dataVolume: docker.Volume;
  /** Password and hash per NATS user (services and internal users). */
  readonly users: Record<string, UserSecret>;
  /** Per account with streams: the reconciler's user and password, for `npm run streams` by hand. Secret. */
  readonly jetstreamAdmins: pulumi.Output<Record<string, { user: string; password: string }>>;

  /** The cluster the current stack's `nats-infra:*` config declares. */
  static fromStackConfig(name: string, opts?: pulumi.ComponentResourceOptions): NatsCluster {
    return new NatsCluster(name, { config: readStackConfig() }, opts);
  }

  constructor(name: string, args: NatsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nats-infra:index:NatsCluster", name, {}, opts);
    const config = validatedConfig(args.config, this);
    const configDir = args.configDir ?? config.docker.configDir ?? defaultConfigDir();
    const child = { parent: this };

    this.users = createPasswords(name, natsUsers(config), this);
    this.permissions = permissionsSummary(config);
    this.endpoints = endpoints(config, "container");
    const { network, natsImage, volume } = createHostResources(name, config, this);
    this.dataVolume = volume;

    const image = config.docker.nats.image ?? NATS_SERVER.image;
    // Plain names, not the resources' outputs: the restart key hashes these inputs.
    const containerInputs = { config, image, configDir, volumeName: volumeName(config), networkName: networkName(config) };
    const key = restartKey(config, natsContainerArgs({ ...containerInputs, restartKey: "" }));
    const applyConfig = createConfigCommand(
      `${name}-config`,
      {
        config,
        natsConf: renderNatsConf(config, { kind: "container" }),
        authConf: pulumi.secret(pulumi.all(hashesOf(this.users)).apply((hashes) => renderAuthConf(config, hashes))),
        configDir,
        containerName: containerName(config),
        image,
        monitorUrl: this.endpoints.monitor,
        restartKey: key,
        permissions: this.permissions,
      },
      { ...child, dependsOn: [natsImage] },
    );

    const containerArgs = {
      ...natsContainerArgs({ ...containerInputs, restartKey: key }),
      // The provider removes a container (destroy, replacement) by stopping it with this grace and
      // then force-removing it; unset, there is no stop at all and clients are cut, not drained.
      // Outside the restart key: it updates in place (not ForceNew in the provider's schema).
      destroyGraceSeconds: destroyGraceSeconds(config),
    };
    this.natsContainer = new docker.Container(`${name}-nats`, containerArgs, {
      ...child,
      dependsOn: [applyConfig, natsImage, volume, network],
      // Fixed name and host ports: the old container must go before the new one starts.
      deleteBeforeReplace: true,
      // The provider records a healthcheck change without applying it.
      replaceOnChanges: ["healthcheck"],
    });

    const sidecars = { name, config, parent: this, network, nats: this.natsContainer };
    if (config.docker.surveyor.enabled) createSurveyor(sidecars, this.users[SURVEYOR_USER].password);
    if (config.docker.natsBox.enabled) createNatsBox(sidecars, this.users[TOOLS_USER].password);

    const admins = streamAdmins(config, this.users);
    if (config.streams.length > 0) {
      // After the reload: the admin's rights name each declared stream, so a new stream needs
      // the new auth.conf loaded first.
      new NatsStreams(`${name}-streams`, { streams: config.streams, natsUrl: this.endpoints.client, admins }, { parent: this, dependsOn: [this.natsContainer, applyConfig] });
    }
    this.jetstreamAdmins = pulumi.secret(pulumi.output(admins));
    this.credentials = pulumi.secret(serviceCredentials(config, this.users, this.endpoints.client));

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

/** Names on the Docker host. */
export const containerName = (config: StackConfig) => `${config.docker.namePrefix}-nats`;
const networkName = (config: StackConfig) => `${config.docker.namePrefix}-net`;
const volumeName = (config: StackConfig) => config.docker.dataVolume ?? `${config.docker.namePrefix}-jetstream`;

/** The image, the network and the retained JetStream volume the server container uses. */
function createHostResources(name: string, config: StackConfig, parent: pulumi.Resource) {
  const natsImage = new docker.RemoteImage(`${name}-nats-image`, { name: config.docker.nats.image ?? NATS_SERVER.image, keepLocally: true }, { parent });
  const network = new docker.Network(`${name}-network`, { name: networkName(config), driver: "bridge" }, { parent });
  // Retained: neither `pulumi destroy` nor a replacement deletes JetStream data. Recreating the
  // stack picks the same volume up again by name.
  const volume = new docker.Volume(
    `${name}-data`,
    {
      name: volumeName(config),
      // Policies cannot see retainOnDelete, so the volume says so (policies/jetstreamDataRetained.ts).
      labels: [{ label: LABELS.role, value: "jetstream-data" }, { label: LABELS.retainOnDelete, value: "true" }],
    },
    { parent, retainOnDelete: true },
  );
  return { natsImage, network, volume };
}

function hashesOf(users: Record<string, UserSecret>): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(Object.entries(users).map(([user, secret]) => [user, secret.bcryptHash]));
}

/** Per account with streams: the reconciler's user and (secret) password. */
function streamAdmins(config: StackConfig, users: Record<string, UserSecret>): Record<string, { user: string; password: pulumi.Output<string> }> {
  const accounts = [...new Set(config.streams.map((s) => s.account))];
  return Object.fromEntries(accounts.map((account) => [account, { user: jetstreamAdminUser(account), password: users[jetstreamAdminUser(account)].password }]));
}

function serviceCredentials(config: StackConfig, users: Record<string, UserSecret>, url: string): pulumi.Output<Record<string, ServiceCredential>> {
  const passwords = Object.fromEntries(config.services.map((s) => [s.name, users[s.name].password]));
  return pulumi.all(passwords).apply((byUser) =>
    Object.fromEntries(Object.entries(byUser).map(([user, password]) => [user, { user, password, account: users[user].account, url }])),
  );
}
