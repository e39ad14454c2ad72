// Routes that leave a Docker host carry the route password and every replicated message, so they
// must be TLS. What a policy can see of that: cluster.conf (the cluster block, its tls and the
// route URLs) is secret stdin of the config command, invisible here. The container is not: across
// hosts each node publishes its route port on its address, and route TLS needs the cluster's
// certificate files mounted where cluster.conf points (config/container.ts
// CONTAINER_ROUTE_TLS_FILES). So a nats-server container that publishes a route port on a
// non-loopback address must mount all three. A route port is any published container port other
// than the client and monitoring ports: it catches any cluster.routePort, not only 6222.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { CONTAINER, CONTAINER_ROUTE_TLS_FILES } from "../config/container";
import { withDefaults } from "./support/config";
import { CONTAINER_TYPE } from "./support/entries";
import { NATS_IMAGE_NAMES_SCHEMA, runsNatsServer } from "./support/natsContainer";
import { asArray, known, plain, UNKNOWN } from "./support/values";

export interface ClusterRouteTlsConfig {
  nonRoutePorts: number[];
  natsImageNames: string[];
}

const configSchema = {
  properties: {
    nonRoutePorts: {
      type: "array" as const,
      items: { type: "number" as const },
      default: [CONTAINER.clientPort, CONTAINER.monitorPort],
      description: "Container ports of a nats-server container that are not routes (client, monitoring; add a leafnode or websocket port you publish). Every other port it publishes off loopback counts as a route port.",
    },
    natsImageNames: NATS_IMAGE_NAMES_SCHEMA,
  },
};

export const clusterRouteTls: ResourceValidationPolicy = {
  name: "cluster-route-tls",
  description: "A nats-server container that publishes a route port beyond loopback mounts the cluster's route TLS files.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER_TYPE) return;
    const config = withDefaults<ClusterRouteTlsConfig>(configSchema, args.getConfig());
    if (!runsNatsServer(args.props, config.natsImageNames)) return;
    const ports = known(() => asArray(plain(args.props.ports)));
    const targets = mountTargets(args.props);
    if (ports === UNKNOWN || targets === UNKNOWN) return;
    const missing = Object.values(CONTAINER_ROUTE_TLS_FILES).filter((file) => !targets.includes(file));
    if (missing.length === 0) return;
    ports.forEach((port, index) => {
      const { ip, internal } = (port ?? {}) as { ip?: unknown; internal?: unknown };
      // Docker binds to every interface when no address is given.
      const address = typeof ip === "string" && ip !== "" ? ip : "0.0.0.0";
      if (isLoopback(address) || config.nonRoutePorts.includes(Number(internal))) return;
      reportViolation(
        `container ${args.name} publishes route port ${String(internal)} on ${address} (ports[${index}]), reachable from other hosts, ` +
          `without the route TLS files mounted (${missing.join(", ")}): its routes would carry the route password and every replicated message in clear text. ` +
          `Set nats-infra:cluster.tls (cert, key and ca, at the same paths on every host); if this port is not a route, add ${String(internal)} to nonRoutePorts in the cluster-route-tls policy config.`,
      );
    });
  },
};

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** Where the container gets files: mounts[].target and volumes[].containerPath. */
function mountTargets(props: Record<string, unknown>): string[] | typeof UNKNOWN {
  const mounts = known(() => asArray(plain(props.mounts)));
  const volumes = known(() => asArray(plain(props.volumes)));
  if (mounts === UNKNOWN || volumes === UNKNOWN) return UNKNOWN;
  const field = (item: unknown, key: string) => (item as Record<string, unknown> | undefined)?.[key];
  return [...mounts.map((m) => field(m, "target")), ...volumes.map((v) => field(v, "containerPath"))].filter((t): t is string => typeof t === "string");
}
