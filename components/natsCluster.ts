// NatsCluster: NATS on a Docker host with its config, passwords, JetStream volumes, Surveyor and
// nats-box, built from the stack config shape (the `nats-infra:*` keys of Pulumi.<stack>.yaml, or
// the same object from another Pulumi program), which it validates. One server by default;
// `cluster.nodes` > 1 runs that many routed servers, on one Docker host or, with a node's
// `dockerHost`, across hosts (each with its own Docker provider; docs/cluster.md).
// Auth changes are delivered by commands that rewrite the config files and reload the servers,
// never by replacing a container. Settings the server cannot reload change a single server's
// container label (the restart key), which replaces it; in a cluster they are applied by the
// rollout command, which restarts one node at a time.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { clusterNodes, isClustered } from "../config/cluster";
import { endpoints, type Endpoints } from "../config/endpoints";
import type { StackConfig, StackConfigInput } from "../config/schema";
import { jetstreamAdminUser, managedJetStreamAccounts, natsUsers, SURVEYOR_USER } from "../config/users";
import { OBSERVER_INBOX_PREFIX, OBSERVER_USER, observedAccounts, observerJsApiPrefix } from "../config/observer";
import { natsImageOf } from "../config/container";
import { permissionsSummary } from "../render/permissionsSummary";
import { createPasswords, createRouteSecret, type UserSecret } from "./credentials";
import { createDockerHosts, networkName } from "./dockerHosts";
import { createMonitoring, type Monitoring } from "./monitoring";
import { destroyGraceSeconds } from "./natsContainerSpec";
import { createNatsNode, type NatsNode } from "./natsNode";
import { NatsStreams } from "./natsStreams";
import { createReplacementGuard } from "./replacementGuard";
import { createRolloutCommand } from "./rolloutCommand";
import { createNatsBox, createSurveyor } from "./sidecars";
import { defaultConfigDir, readStackConfig, validatedConfig } from "./stackConfig";

export interface NatsClusterArgs {
  /** The stack config shape (services, accounts, jetstream, server, tls, docker, cluster, streams); validated and defaulted here. */
  config: StackConfigInput;
  /**
   * Host directory for nats.conf and auth.conf, mounted read-only. Default: `docker.configDir`,
   * else `.nats-infra/<stack>/config`. In a cluster node i uses `<configDir>-i`. A node on another
   * Docker host uses the same path there when it is configured, else
   * `/var/lib/nats-infra/<namePrefix>/config` (with `-i`).
   */
  configDir?: string;
}

/** What natscli needs to run the operator checks as the observer (docs/operations.md). */
export interface ObserverCredential extends ServiceCredential {
  /** Per account with JetStream: natscli `--js-api-prefix` for its checks and listings. */
  jsApiPrefixes: Record<string, string>;
}

/** What an application needs to connect as one service. */
export interface ServiceCredential {
  user: string;
  password: string;
  account: string;
  /** Every node's client URL, comma-separated. */
  url: string;
  /** The inbox prefix its clients connect with (config/inboxes.ts); `_INBOX` while its inbox is shared. */
  inboxPrefix: string;
}

export class NatsCluster extends pulumi.ComponentResource {
  /** Per service: user, password, account and URL. Secret. */
  readonly credentials: pulumi.Output<Record<string, ServiceCredential>>;
  /** Where things listen on the Docker host (on `docker.bindAddress`, 127.0.0.1 by default). */
  readonly endpoints: Endpoints;
  /** Who may publish and subscribe to what, per user. Not secret: it is what preview shows. */
  readonly permissions: Record<string, string>;
  /** Node 0's container (the only one of a single server). */
  readonly natsContainer: docker.Container;
  /** Node 0's JetStream volume. */
  readonly dataVolume: docker.Volume;
  /** Every server: its container, volume, config command and directory, in node order. */
  readonly nodes: NatsNode[];
  /** Password and hash per NATS user (services and internal users). */
  readonly users: Record<string, UserSecret>;
  /** Per account with streams, KV buckets or object stores: the reconciler's user and password, for `npm run streams` by hand. Secret. */
  readonly jetstreamAdmins: pulumi.Output<Record<string, { user: string; password: string; inboxPrefix: string }>>;
  /** The read-only user of natscli's operator checks (config/observer.ts), with what natscli needs to connect as it. Secret. */
  readonly observer: pulumi.Output<ObserverCredential>;
  /** Prometheus and Grafana (`monitoring`, off by default): their endpoints and Grafana's admin. */
  readonly monitoring?: Monitoring;

  /** The cluster the current stack's `nats-infra:*` config declares. */
  static fromStackConfig(name: string, opts?: pulumi.ComponentResourceOptions): NatsCluster {
    return new NatsCluster(name, { config: readStackConfig() }, opts);
  }

  constructor(name: string, args: NatsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nats-infra:index:NatsCluster", name, {}, opts);
    const config = validatedConfig(args.config, this);
    const configDir = args.configDir ?? config.docker.configDir ?? defaultConfigDir();

    this.users = createPasswords(name, natsUsers(config), this, passwordRotations(config));
    this.permissions = permissionsSummary(config);
    this.endpoints = endpoints(config, "container");
    // The configured directory is the base on other hosts too; the local default is not.
    const hosts = createDockerHosts(name, config, args.configDir ?? config.docker.configDir, this);

    const route = isClustered(config) ? createRouteSecret(name, this) : undefined;
    const image = natsImageOf(config);
    // Every node's config command and container wait for it: it refuses a plain `pulumi up` that
    // would replace more than one node's container at once (components/replacementGuard.ts).
    const guard = isClustered(config) ? createReplacementGuard(name, { config, image, configDir, hosts, networkName: networkName(config) }, this) : undefined;
    const node = {
      name,
      config,
      image,
      configDir,
      hosts,
      networkName: networkName(config),
      hashes: hashesOf(this.users),
      route,
      guard,
      permissions: this.permissions,
      parent: this,
    };
    this.nodes = clusterNodes(config).map((n) => createNatsNode(node, n));
    this.natsContainer = this.nodes[0].container;
    this.dataVolume = this.nodes[0].volume;
    const containers = this.nodes.map((n) => n.container);
    const configCommands = this.nodes.map((n) => n.configCommand);

    // After every node's config and container: restarts, one at a time, the nodes whose running
    // restart-class settings differ from the config (components/rolloutCommand.ts).
    const rollout = isClustered(config)
      ? createRolloutCommand(
          `${name}-rollout`,
          {
            graceSeconds: destroyGraceSeconds(config),
            nodes: this.nodes.map((n) => ({
              server: n.node.serverName,
              container: n.node.containerName,
              monitorUrl: n.node.monitorUrl,
              configDir: n.configDir,
              settingsKey: n.settingsKey!,
              // Only for a node on another host, so a one-host cluster's stdin stays what it was.
              ...(n.node.dockerHost ? { dockerHost: n.node.dockerHost } : {}),
            })),
          },
          { parent: this, dependsOn: [...configCommands, ...containers] },
        )
      : undefined;

    // Beside node 0, on its Docker host.
    const { network, provider } = hosts.of(this.nodes[0].node);
    const sidecars = { name, config, parent: this, network, provider, nats: containers };
    const surveyor = config.docker.surveyor.enabled ? createSurveyor(sidecars, this.users[SURVEYOR_USER].password) : undefined;
    if (config.docker.natsBox.enabled) createNatsBox(sidecars, this.users[OBSERVER_USER].password);
    this.monitoring = createMonitoring({ name, config, parent: this, network, provider, surveyor, users: this.users });

    const admins = streamAdmins(config, this.users);
    if (config.streams.length + config.kv.length + config.objectStores.length > 0) {
      // After the reload: the admin's rights name each declared stream, so a new stream needs
      // the new auth.conf loaded first; in a cluster also after the rollout, so no stream is
      // created or changed while a node is down.
      new NatsStreams(
        `${name}-streams`,
        { streams: config.streams, kv: config.kv, objectStores: config.objectStores, natsUrl: this.endpoints.client, admins },
        { parent: this, dependsOn: [...containers, ...configCommands, ...(rollout ? [rollout] : [])] },
      );
    }
    // With each admin's inbox prefix (its own, `_INBOX__jsadmin_<ACCOUNT>`): backup, restore and
    // `npm run streams` by hand connect with it, since the admin may subscribe nowhere else.
    const adminPrefixes = new Map(natsUsers(config).map((u) => [u.user, u.inboxPrefix]));
    this.jetstreamAdmins = pulumi.secret(
      pulumi.output(Object.fromEntries(Object.entries(admins).map(([account, admin]) => [account, { ...admin, inboxPrefix: adminPrefixes.get(admin.user)! }]))),
    );
    this.credentials = pulumi.secret(serviceCredentials(config, this.users, this.endpoints.client));
    this.observer = pulumi.secret(observerCredential(config, this.users[OBSERVER_USER], this.endpoints.client));

    this.registerOutputs({
      credentials: this.credentials,
      jetstreamAdmins: this.jetstreamAdmins,
      observer: this.observer,
      endpoints: this.endpoints,
      permissions: this.permissions,
      natsContainer: this.natsContainer.name,
      dataVolume: this.dataVolume.name,
    });
  }
}

function hashesOf(users: Record<string, UserSecret>): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(Object.entries(users).map(([user, secret]) => [user, secret.bcryptHash]));
}

/** Per account with streams: the reconciler's user and (secret) password. */
function streamAdmins(config: StackConfig, users: Record<string, UserSecret>): Record<string, { user: string; password: pulumi.Output<string> }> {
  return Object.fromEntries(managedJetStreamAccounts(config).map((account) => [account, { user: jetstreamAdminUser(account), password: users[jetstreamAdminUser(account)].password }]));
}

/** `url`: every node's client URL, comma-separated (config/endpoints.ts). */
function serviceCredentials(config: StackConfig, users: Record<string, UserSecret>, url: string): pulumi.Output<Record<string, ServiceCredential>> {
  const passwords = Object.fromEntries(config.services.map((s) => [s.name, users[s.name].password]));
  const inboxPrefixes = new Map(natsUsers(config).map((u) => [u.user, u.inboxPrefix]));
  return pulumi.all(passwords).apply((byUser) =>
    Object.fromEntries(Object.entries(byUser).map(([user, password]) => [user, { user, password, account: users[user].account, url, inboxPrefix: inboxPrefixes.get(user)! }])),
  );
}

function observerCredential(config: StackConfig, secret: UserSecret, url: string): pulumi.Output<ObserverCredential> {
  const jsApiPrefixes = Object.fromEntries(observedAccounts(config).map((account) => [account, observerJsApiPrefix(account)]));
  return secret.password.apply((password) => ({ user: OBSERVER_USER, password, account: secret.account, url, inboxPrefix: OBSERVER_INBOX_PREFIX, jsApiPrefixes }));
}

/** Per service whose password was rotated (`nats-infra rotate`): its rotation number. */
function passwordRotations(config: StackConfig): Record<string, number> {
  return Object.fromEntries(config.services.flatMap((s) => (s.passwordRotation === undefined ? [] : [[s.name, s.passwordRotation]])));
}
