// The settings nats-server cannot change on a reload (the restart rows of config/serverOptions.ts),
// as one value: the container's restart key (components/restartKey.ts) and the dev server hash it
// to tell a reload from a restart.
import type { StackConfig } from "./schema";
import { configValue, SERVER_OPTIONS } from "./serverOptions";

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

