// Facts about the nats container that the renderer (paths inside nats.conf), the component
// (mounts, ports, labels, environment), the config script and the policies must agree on.
import type { StackConfig } from "./schema";
import { NATS_SERVER } from "./pinnedVersions";

/** Paths and ports inside the nats container; the component mounts and publishes to match. */
export const CONTAINER = {
  configDir: "/etc/nats",
  dataDir: "/data",
  clientPort: 4222,
  monitorPort: 8222,
  tlsDir: "/etc/nats-tls",
} as const;

type TlsFile = "cert" | "key" | "ca";
const TLS_FILES: TlsFile[] = ["cert", "key", "ca"];

/** Where each TLS file given on the host is mounted in the container. */
export const CONTAINER_TLS_FILES: Record<TlsFile, string> = {
  cert: `${CONTAINER.tlsDir}/cert.pem`,
  key: `${CONTAINER.tlsDir}/key.pem`,
  ca: `${CONTAINER.tlsDir}/ca.pem`,
};

/** Where the route TLS files (cluster.tls) are mounted in the container. */
export const CONTAINER_ROUTE_TLS_FILES: Record<TlsFile, string> = {
  cert: `${CONTAINER.tlsDir}/route-cert.pem`,
  key: `${CONTAINER.tlsDir}/route-key.pem`,
  ca: `${CONTAINER.tlsDir}/route-ca.pem`,
};

/** The TLS files a config names (client TLS, or cluster.tls for routes), by their host paths. */
type TlsPaths = Partial<Record<TlsFile, string>>;

/**
 * The host file and its place in the container, for each TLS file the config names; `places`:
 * where that kind of TLS is mounted (CONTAINER_TLS_FILES, or CONTAINER_ROUTE_TLS_FILES for routes).
 */
export function containerTlsMounts(tls: TlsPaths, places: Record<TlsFile, string> = CONTAINER_TLS_FILES): { source: string; target: string }[] {
  return TLS_FILES.filter((file) => tls[file] !== undefined).map((file) => ({ source: tls[file]!, target: places[file] }));
}

/** Where the server reads each named TLS file: its host path on this host, its mount in a container. */
export function tlsFileSettings(tls: TlsPaths, local: boolean, places: Record<TlsFile, string>): { cert_file?: string; key_file?: string; ca_file?: string } {
  const at = (file: TlsFile) => (tls[file] === undefined ? undefined : local ? tls[file] : places[file]);
  return { cert_file: at("cert"), key_file: at("key"), ca_file: at("ca") };
}

/** Labels nats-infra puts on what it creates on the Docker host. */
export const LABELS = {
  /** nats, surveyor, nats-box or jetstream-data. */
  role: "nats-infra.role",
  /** The hash of the settings the server cannot reload (components/restartKey.ts). */
  restartKey: "nats-infra.restart-key",
  /** On the JetStream volume: policies cannot see retainOnDelete, so the volume says so. */
  retainOnDelete: "nats-infra.retain-on-delete",
} as const;

/** Share of the container's memory limit given to Go's GC as its target (GOMEMLIMIT). */
export const GOMEMLIMIT_SHARE = 0.8;

/** GOMEMLIMIT for a memory limit in bytes: about 80%, so the GC works before the OOM killer. */
export function goMemLimit(memoryBytes: number): string {
  return `${Math.floor((memoryBytes * GOMEMLIMIT_SHARE) / 1024 ** 2)}MiB`;
}

/** The nats-server image the nodes run: the configured one, or the pinned default. */
export const natsImageOf = (config: StackConfig): string => config.docker.nats.image ?? NATS_SERVER.image;

