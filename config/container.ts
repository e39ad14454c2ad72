// Facts about the nats container that the renderer (paths inside nats.conf), the component
// (mounts, ports, labels, environment), the config script and the policies must agree on.
import type { StackConfig } from "./schema";

/** Paths and ports inside the nats container; the component mounts and publishes to match. */
export const CONTAINER = {
  configDir: "/etc/nats",
  dataDir: "/data",
  clientPort: 4222,
  monitorPort: 8222,
  tlsDir: "/etc/nats-tls",
} as const;

type TlsConfig = NonNullable<StackConfig["tls"]>;
type TlsFile = "cert" | "key" | "ca";

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

/** The host file and its place in the container, for each TLS file the config names. */
export function containerTlsMounts(tls: TlsConfig): { source: string; target: string }[] {
  const files: [TlsFile, string | undefined][] = [["cert", tls.cert], ["key", tls.key], ["ca", tls.ca]];
  return files.filter(([, source]) => source !== undefined).map(([file, source]) => ({ source: source!, target: CONTAINER_TLS_FILES[file] }));
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
