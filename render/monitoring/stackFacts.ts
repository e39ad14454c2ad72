// What the monitoring renderers need to know about a stack, read once from its config: the
// nodes by server name, the JetStream accounts with their limits, the declared streams and
// consumers with the services that read them. Alert rules and dashboards are generated from this,
// so a new node, stream or consumer appears in both without an edit here.
import { clusterNodes, isClustered } from "../../config/cluster";
import type { StackConfig } from "../../config/schema";

export interface AccountLimits {
  account: string;
  /** Bytes of file storage the account may use: its own maxFile, else the server's maxFileStore. */
  maxFile: number;
  maxMemory: number;
}

export interface DeclaredConsumer {
  account: string;
  stream: string;
  consumer: string;
  /** -1: no limit. */
  maxAckPending: number;
  /** Services whose JetStream intent consumes through it. */
  services: string[];
}

export interface DeclaredStream {
  account: string;
  stream: string;
  storage: "file" | "memory";
  /** -1: no limit of its own. */
  maxBytes: number;
  consumers: DeclaredConsumer[];
}

export interface StackFacts {
  /** docker.namePrefix: names the stack in every alert. */
  stack: string;
  servers: string[];
  clustered: boolean;
  maxConnections: number;
  jetstream: { enabled: boolean; maxFileStore: number; maxMemoryStore: number };
  /** Accounts with JetStream on, in declaration order. */
  jetstreamAccounts: AccountLimits[];
  /** Every application account (the system account is not declared and is left out). */
  accounts: string[];
  streams: DeclaredStream[];
}

export function stackFacts(config: StackConfig): StackFacts {
  const jsOn = config.jetstream.enabled;
  const jetstreamAccounts = jsOn
    ? config.accounts
        .filter((account) => account.jetstream !== false)
        .map((account) => {
          const own = typeof account.jetstream === "object" ? account.jetstream : {};
          return { account: account.name, maxFile: own.maxFile ?? config.jetstream.maxFileStore, maxMemory: own.maxMemory ?? config.jetstream.maxMemoryStore };
        })
    : [];
  const readers = (stream: string, consumer: string) =>
    config.services.filter((service) => service.jetstream?.consume.some((c) => c.stream === stream && c.consumer === consumer)).map((service) => service.name);
  // A stream or consumer marked for deletion is on its way out: nothing to watch.
  const streams = jsOn
    ? config.streams
        .filter((stream) => !stream.delete)
        .map((stream) => ({
          account: stream.account,
          stream: stream.name,
          storage: stream.storage,
          maxBytes: stream.maxBytes,
          consumers: stream.consumers
            .filter((consumer) => !consumer.delete)
            .map((consumer) => ({ account: stream.account, stream: stream.name, consumer: consumer.name, maxAckPending: consumer.maxAckPending, services: readers(stream.name, consumer.name) })),
        }))
    : [];
  return {
    stack: config.docker.namePrefix,
    servers: clusterNodes(config).map((node) => node.serverName),
    clustered: isClustered(config),
    maxConnections: config.server.maxConnections,
    jetstream: { enabled: jsOn, maxFileStore: config.jetstream.maxFileStore, maxMemoryStore: config.jetstream.maxMemoryStore },
    jetstreamAccounts,
    accounts: config.accounts.map((account) => account.name),
    streams,
  };
}

export const declaredConsumers = (facts: StackFacts): DeclaredConsumer[] => facts.streams.flatMap((stream) => stream.consumers);
