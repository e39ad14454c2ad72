// Containers publish ports on loopback only: nats-infra's endpoints are for this host, and
// anything else (a reverse proxy, a tunnel) is an explicit choice made in the policy config.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import { CONTAINER_TYPE } from "./support/entries";
import { asArray, known, plain, UNKNOWN } from "./support/values";

export interface LoopbackPortsConfig {
  allowedBindAddresses: string[];
  allowHostNetwork: boolean;
}

const configSchema = {
  properties: {
    allowedBindAddresses: {
      type: "array" as const,
      items: { type: "string" as const },
      default: ["127.0.0.1", "::1"],
      description: "Host addresses a container may publish ports on. Add a LAN address only for a port that must be reached from other hosts.",
    },
    allowHostNetwork: {
      type: "boolean" as const,
      default: false,
      description: "Allow networkMode \"host\", which exposes every port the container listens on.",
    },
  },
};

export const loopbackPorts: ResourceValidationPolicy = {
  name: "loopback-ports",
  description: "Containers publish ports only on loopback addresses unless the policy config allows another address.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER_TYPE) return;
    const config = withDefaults<LoopbackPortsConfig>(configSchema, args.getConfig());
    const allowed = config.allowedBindAddresses;
    const networkMode = known(() => plain(args.props.networkMode));
    if (networkMode === "host" && !config.allowHostNetwork) {
      reportViolation(
        `container ${args.name} uses networkMode "host", which exposes every port it listens on, on every interface: ` +
          `remove networkMode and publish the ports it needs with ports[].ip = "127.0.0.1" (or set allowHostNetwork in the loopback-ports policy config).`,
      );
    }
    const ports = known(() => asArray(plain(args.props.ports)));
    if (ports === UNKNOWN) return;
    ports.forEach((port, index) => {
      const { ip, internal, external } = (port ?? {}) as { ip?: unknown; internal?: unknown; external?: unknown };
      // Docker binds to every interface when no address is given.
      const address = typeof ip === "string" && ip !== "" ? ip : "0.0.0.0";
      if (allowed.includes(address)) return;
      const hostPort = external === undefined ? "a random host port" : `host port ${String(external)}`;
      reportViolation(
        `container ${args.name} publishes port ${String(internal)} on ${address} (${hostPort}), reachable from other hosts: ` +
          `set ports[${index}].ip to "127.0.0.1", or add "${address}" to allowedBindAddresses in the loopback-ports policy config ` +
          `if this port must be reachable from outside (allowed now: ${allowed.join(", ")}).`,
      );
    });
  },
};
