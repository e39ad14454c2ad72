// Where a deployment is reached from the machine it runs on: one answer for the component's
// outputs, the credentials it hands out and the render command's credentials.json.
import type { StackConfig } from "./schema";

/** The default bind address: nothing is reachable from outside the Docker host. */
export const LOOPBACK = "127.0.0.1";

/** Address the Docker host itself uses to reach a port published on `bindAddress`. */
export function hostAddress(bindAddress: string): string {
  if (bindAddress === "0.0.0.0") return LOOPBACK;
  if (bindAddress === "::") return "[::1]";
  return bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
}

export interface Endpoints {
  /** What clients pass to connect(), e.g. nats://127.0.0.1:4222 */
  client: string;
  /** The monitoring endpoint (/healthz, /varz, ...). */
  monitor: string;
  /** Surveyor's Prometheus endpoint, when Surveyor runs. */
  surveyor?: string;
}

/**
 * `container`: the ports Docker publishes on `docker.bindAddress`. `local`: a nats-server run on
 * this host from a `--local` render, which listens on loopback at the stack's ports (no Surveyor).
 */
export function endpoints(config: StackConfig, target: "container" | "local"): Endpoints {
  const host = target === "local" ? LOOPBACK : hostAddress(config.docker.bindAddress);
  const surveyor = target === "container" && config.docker.surveyor.enabled ? `http://${host}:${config.docker.surveyor.port}/metrics` : undefined;
  return { client: `nats://${host}:${config.server.clientPort}`, monitor: `http://${host}:${config.server.monitorPort}`, surveyor };
}
