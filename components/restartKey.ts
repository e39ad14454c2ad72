// When must the nats container be replaced rather than reloaded? When a setting nats-server
// cannot change on reload changes (see design notes), or when the container's own spec changes
// (image, ports, mounts, limits). Both are hashed into a container label: a change of either
// replaces the container (preview says so), and apply-config.sh, seeing another key on the
// running container, installs the files without reloading a server that is about to go.
import { createHash } from "node:crypto";
import type { StackConfig } from "../config/schema";

export const RESTART_KEY_LABEL = "nats-infra.restart-key";

export function restartSettings(config: StackConfig): Record<string, unknown> {
  const { server, jetstream } = config;
  return {
    serverName: server.name,
    lameDuckDuration: server.lameDuckDuration,
    lameDuckGracePeriod: server.lameDuckGracePeriod,
    jetstreamEnabled: jetstream.enabled,
    syncInterval: jetstream.syncInterval,
    // Raising JetStream limits reloads, lowering needs a restart; treating both as a restart
    // keeps the rule simple and is rare in practice.
    maxMemoryStore: jetstream.maxMemoryStore,
    maxFileStore: jetstream.maxFileStore,
  };
}

/** `container`: the nats container's declared settings (without this label), when known. */
export function restartKey(config: StackConfig, container?: object): string {
  const identity = JSON.stringify({ settings: restartSettings(config), container: container ?? null });
  return createHash("sha256").update(identity).digest("hex").slice(0, 16);
}
