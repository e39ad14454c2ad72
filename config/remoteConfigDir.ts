// Where a node's config files live on a Docker host other than this one. Pure (no Pulumi), so the
// operations commands (clean) find the same directories the component writes.

/** Where config directories go on other hosts unless docker.configDir names a base. */
export const REMOTE_CONFIG_ROOT = "/var/lib/nats-infra";

/** A config directory on another host given as a relative path: it would depend on where the login lands. */
export class RelativeRemoteConfigDirError extends Error {}

/**
 * Node 0's config directory on another host (node i: `<base>-i`, as on one host): `configured`
 * (the component's configDir or docker.configDir) when set, else
 * /var/lib/nats-infra/<namePrefix>/config. A path on that host, so it must be absolute.
 */
export function remoteConfigBase(namePrefix: string, configured?: string): string {
  const base = configured ?? `${REMOTE_CONFIG_ROOT}/${namePrefix}/config`;
  if (!base.startsWith("/")) throw new RelativeRemoteConfigDirError(`nats-infra:docker.configDir: nodes on other Docker hosts need an absolute config directory there; got ${base}`);
  return base;
}
