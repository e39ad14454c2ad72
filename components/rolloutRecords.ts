// Each node's record of the restart-class settings its server was started with
// (RUNNING_SETTINGS_FILE in its config directory), as cli/rollout.ts reads and writes it.
// apply-config.sh writes the same file on the node's Docker host. No Pulumi here.
//
// A node on the machine running Pulumi: the file itself. A node on another Docker host: through
// Docker at that host (DOCKER_HOST = its dockerHost, as for its restart), so the rollout needs
// nothing there but the Docker access Pulumi's Docker provider already has. Read with
// `docker cp <container>:<config dir>/<record> -`, which works on the read-only mount; written by
// `docker cp` into a never-started helper container that mounts the directory read-write (its
// image is the node's own, so it is there). Both carry a one-file tar stream.
import { DockerError, dockerAt, dockerText } from "../ops/docker";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CONTAINER } from "../config/container";
import { RUNNING_SETTINGS_FILE, type RolloutNode } from "./rolloutContract";

export interface RunningSettingsRecords {
  /** The key the node's record holds, or undefined when it has none. */
  read(node: RolloutNode): Promise<string | undefined>;
  /** Records the node's desired settingsKey as the one it runs. */
  write(node: RolloutNode): Promise<void>;
}

/** Local file, or Docker at the node's dockerHost. */
export const nodeRecords: RunningSettingsRecords = {
  read: async (node) => (node.dockerHost ? readOverDocker(node, node.dockerHost) : readRunningSettings(node)),
  write: async (node) => (node.dockerHost ? writeOverDocker(node, node.dockerHost) : recordRunningSettings(node)),
};

/** The key a local node's record holds, or undefined when it has none. */
export function readRunningSettings(node: RolloutNode): string | undefined {
  try {
    return readFileSync(path.join(node.configDir, RUNNING_SETTINGS_FILE), "utf8").trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Written by rename, so a reader never sees half a key. */
export function recordRunningSettings(node: RolloutNode): void {
  const file = path.join(node.configDir, RUNNING_SETTINGS_FILE);
  writeFileSync(`${file}.tmp`, `${node.settingsKey}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

async function readOverDocker(node: RolloutNode, dockerHost: string): Promise<string | undefined> {
  try {
    const tar = await dockerAt(dockerHost, ["cp", `${node.container}:${CONTAINER.configDir}/${RUNNING_SETTINGS_FILE}`, "-"]);
    return untarOne(tar).trim() || undefined;
  } catch (error) {
    // The container is there (the rollout runs after it) but has no record yet.
    if (error instanceof DockerError && /could not find the file|no such container:path/i.test(error.detail)) return undefined;
    throw error;
  }
}

async function writeOverDocker(node: RolloutNode, dockerHost: string): Promise<void> {
  const helper = `${node.container}-settings-record`;
  const image = (await dockerText(dockerHost, ["inspect", "-f", "{{.Image}}", node.container])).trim();
  // A helper left behind by an interrupted run would hold the name.
  await dockerAt(dockerHost, ["rm", "-f", helper]).catch(() => undefined);
  await dockerAt(dockerHost, ["create", "--name", helper, "--network", "none", "-v", `${node.configDir}:/record`, image]);
  try {
    await dockerAt(dockerHost, ["cp", "-", `${helper}:/record`], { input: tarOne(RUNNING_SETTINGS_FILE, `${node.settingsKey}\n`) });
  } finally {
    await dockerAt(dockerHost, ["rm", "-f", helper]).catch(() => undefined);
  }
}

const BLOCK = 512;

/** A ustar archive of one regular file (mode 0644), as `docker cp -` reads it. */
export function tarOne(name: string, content: string): Buffer {
  const body = Buffer.from(content, "utf8");
  const header = Buffer.alloc(BLOCK);
  const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, "0")}\0`;
  header.write(name, 0, 100, "utf8");
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(body.length, 12), 124);
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  // The checksum counts its own field as eight spaces.
  header.write(" ".repeat(8), 148);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return Buffer.concat([header, body, padding, Buffer.alloc(2 * BLOCK)]);
}

/** The content of the first file in a tar stream (what `docker cp <container>:<file> -` writes). */
export function untarOne(tar: Buffer): string {
  if (tar.length < BLOCK) throw new Error("docker cp gave no tar stream");
  const size = parseInt(tar.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim(), 8);
  if (!Number.isFinite(size) || tar.length < BLOCK + size) throw new Error("docker cp gave a truncated tar stream");
  return tar.subarray(BLOCK, BLOCK + size).toString("utf8");
}
