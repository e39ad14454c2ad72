// What the rollout command (components/rolloutCommand.ts) hands cli/rollout.ts on stdin, and the
// record each node keeps of the restart-class settings its server was started with. Both sides
// and apply-config.sh (through SETTINGS_KEY_FILE) read this one definition. No Pulumi here: the
// command-line side loads it too.

/**
 * In each node's config directory: the nodeSettingsKey its running server was started with.
 * apply-config.sh writes it when it installs files for a server that has not started yet (no
 * container, or one about to be replaced); cli/rollout.ts writes it after it restarted the node.
 */
export const RUNNING_SETTINGS_FILE = ".running-settings-key";

export interface RolloutNode {
  /** nats.conf server_name, for messages. */
  server: string;
  container: string;
  /** The node's monitoring URL as reached from the machine running Pulumi. */
  monitorUrl: string;
  /** The node's config directory on its Docker host (the machine running Pulumi, unless dockerHost says otherwise). */
  configDir: string;
  /** nodeSettingsKey: what the node should run. */
  settingsKey: string;
  /**
   * A node on another Docker host: DOCKER_HOST for the docker commands that restart it and read
   * and write its record (in configDir on that host). Absent: the machine running Pulumi.
   */
  dockerHost?: string;
}

export interface RolloutStdin {
  /** `docker restart -t`: the lame duck duration plus a margin (destroyGraceSeconds). */
  graceSeconds: number;
  /** In restart order: node 0 first. */
  nodes: RolloutNode[];
}

export class RolloutStdinError extends Error {}

export function parseRolloutStdin(text: string): RolloutStdin {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RolloutStdinError(`stdin is not JSON: ${(error as Error).message}`);
  }
  const input = value as Partial<RolloutStdin>;
  if (typeof input?.graceSeconds !== "number" || !(input.graceSeconds >= 0)) throw new RolloutStdinError("stdin needs graceSeconds, a number of seconds");
  if (!Array.isArray(input.nodes) || input.nodes.length === 0) throw new RolloutStdinError("stdin needs nodes, a non-empty list");
  input.nodes.forEach((node, i) => {
    for (const field of ["server", "container", "monitorUrl", "configDir", "settingsKey"] as const) {
      if (typeof node?.[field] !== "string" || node[field] === "") throw new RolloutStdinError(`stdin nodes[${i}].${field} must be a non-empty string`);
    }
    if (node.dockerHost !== undefined && (typeof node.dockerHost !== "string" || node.dockerHost === "")) {
      throw new RolloutStdinError(`stdin nodes[${i}].dockerHost must be a non-empty string when given`);
    }
  });
  return input as RolloutStdin;
}
