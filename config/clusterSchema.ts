// The `cluster` section of the stack config: how many nats-servers, and, for servers on other
// Docker hosts, where. One node (the default) is today's single server, rendered and deployed
// exactly as before; more nodes form one NATS cluster with routes and replicated JetStream.
import { z } from "zod";
import { hostPath, port } from "./primitives";

/** One server of the cluster, where it differs from the defaults. */
export const clusterNodeSchema = z
  .object({
    /** Host port for clients; default `server.clientPort` plus the node's index (4222, 4223, ...). */
    clientPort: port.optional(),
    /** Host port for monitoring; default `server.monitorPort` plus the node's index (8222, 8223, ...). */
    monitorPort: port.optional(),
    /**
     * The Docker host this node runs on, as Docker names one (`ssh://admin@10.0.0.7`,
     * `tcp://10.0.0.7:2376`); default: the host Pulumi's own Docker provider uses.
     */
    dockerHost: z
      .string()
      .regex(/^(ssh|tcp):\/\/[^\s/]+(:\d+)?$/, 'a Docker host such as "ssh://admin@10.0.0.7" or "tcp://10.0.0.7:2376"')
      .optional(),
    /** The IP address of this node's host that the other nodes and the clients reach it at; its ports publish there. */
    address: z.union([z.ipv4(), z.ipv6()], { error: "an IP address such as 10.0.0.7" }).optional(),
  })
  .strict();

/**
 * How the config commands reach nodes on other Docker hosts (ssh:// dockerHost): they deliver the
 * node's config files over SSH (components/remoteConfigCommand.ts). The user and port come from
 * each dockerHost. Without privateKey or agentSocket, the SSH agent at $SSH_AUTH_SOCK of the
 * process running Pulumi is used.
 */
export const clusterSshSchema = z
  .object({
    /**
     * The private key's contents (not its path). Set it as a secret:
     * `pulumi config set --secret --path 'nats-infra:cluster.ssh.privateKey' < ~/.ssh/id_ed25519`.
     */
    privateKey: z.string().min(1).optional(),
    /** An SSH agent's socket on the machine running Pulumi, instead of a key. */
    agentSocket: hostPath.optional(),
    /**
     * Per host of an ssh:// dockerHost (`10.0.0.7`), its SSH host key in authorized_keys form
     * (`ssh-ed25519 AAAA...`). A host without one is not verified: anyone who can intercept the
     * connection would receive its config files.
     */
    hostKeys: z.record(z.string(), z.string().regex(/^[a-z0-9@.-]+ [A-Za-z0-9+/=]+$/, 'a public key such as "ssh-ed25519 AAAAC3Nz..." (no host name, no comment)')).optional(),
  })
  .strict();

export const clusterSchema = z
  .object({
    /** A count (`3`), or one entry per server with its own settings (`[{}, {}, { dockerHost: ..., address: ... }]`). */
    nodes: z
      .union([z.number().int().min(1, "at least 1 node"), z.array(clusterNodeSchema).min(1, "at least 1 node")], {
        error: "a number of nodes such as 3, or a list with one entry per node",
      })
      .default(1),
    /** The cluster's name (nats.conf `cluster.name`); every node carries it. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "letters, digits, '_' and '-', starting with a letter or digit").default("nats-infra"),
    /** The port servers open routes to each other on. Published on the host only for nodes on other Docker hosts. */
    routePort: port.default(6222),
    /** Certificates for the routes between servers; required when nodes run on more than one Docker host. */
    tls: z.object({ cert: hostPath, key: hostPath, ca: hostPath }).strict().optional(),
    /** SSH for the config commands of nodes on other Docker hosts. */
    ssh: clusterSshSchema.optional(),
  })
  .strict();

export type ClusterSettings = z.output<typeof clusterSchema>;
