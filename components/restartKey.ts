// When must the nats container be replaced rather than reloaded? When a setting nats-server
// cannot change on reload changes (the restart rows of config/serverOptions.ts), or when the
// container's own spec changes (image, ports, mounts, limits). Both are hashed into a container
// label: a change of either replaces the container (preview says so), and apply-config.sh,
// seeing another key on the running container, installs the files without reloading a server
// that is about to go.
import { createHash } from "node:crypto";
import { LABELS } from "../config/container";
import type { StackConfig } from "../config/schema";
import { configValue, SERVER_OPTIONS } from "../config/serverOptions";

export const RESTART_KEY_LABEL = LABELS.restartKey;

/**
 * The restart-class rows of config/serverOptions.ts, by restart-key name, in restart-key order.
 * The key is a deployed label, so the JSON must stay exactly what earlier versions wrote (the
 * test pins it). A setting left unset (an absent or empty map) is left out, so that adding an
 * optional setting does not change the key of a stack that does not use it.
 */
export function restartSettings(config: StackConfig): Record<string, unknown> {
  const entries = SERVER_OPTIONS.flatMap((option) =>
    option.path !== null && option.apply.by === "restart" && option.apply.restartKey !== "container spec"
      ? [{ ...option.apply.restartKey, value: configValue(config, option.path) }]
      : [],
  );
  return Object.fromEntries(
    entries
      .filter(({ value }) => !isUnset(value))
      .sort((a, b) => a.position - b.position)
      .map(({ name, value }) => [name, value]),
  );
}

function isUnset(value: unknown): boolean {
  return value === undefined || (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
}

/** `container`: the nats container's declared settings (without this label), when known. */
export function restartKey(config: StackConfig, container?: object): string {
  const identity = JSON.stringify({ settings: restartSettings(config), container: container ?? null });
  return createHash("sha256").update(identity).digest("hex").slice(0, 16);
}
