// Settings nats-server cannot change on reload (see design notes): when one of them changes the
// nats container must be replaced, and preview should say so. They are hashed into a container
// label, so a change replaces the container while every other config change is a reload.
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

export function restartKey(config: StackConfig): string {
  return createHash("sha256").update(JSON.stringify(restartSettings(config))).digest("hex").slice(0, 16);
}
