// The manifest of a backup directory: what was backed up, from where, and what a restore must
// find. It is written last (to a temporary name, then renamed), so a directory without it is a
// backup that did not finish. Every file of the backup is owner-only: it holds every message.
//
//   <dir>/manifest.json
//   <dir>/<account>/<stream>/backup.json     the stream's config and state, as natscli writes it
//   <dir>/<account>/<stream>/stream.tar.s2   the server's snapshot archive
//
// Each stream's directory is also what `nats backup restore stream <dir>` takes.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

export const MANIFEST_FILE = "manifest.json";
export const BACKUP_FORMAT = "nats-infra-backup";
export const BACKUP_FORMAT_VERSION = 1;
export const META_FILE = "backup.json";
export const ARCHIVE_FILE = "stream.tar.s2";

/** Nothing was changed: not a backup, a damaged one, a used directory, a name that is not there. Exit 2. */
export class BackupInputError extends Error {}

/** `--account` and `--stream`: only these (every one when not given). */
export interface BackupSelection {
  accounts?: string[];
  streams?: string[];
}

/** A stream named in the selection that is none of `found` (in the selected accounts). */
export function selectionProblem(selection: BackupSelection, accounts: string[], found: string[]): string | undefined {
  const missing = (selection.streams ?? []).filter((name) => !found.includes(name));
  if (missing.length === 0) return undefined;
  return `no stream ${missing.join(", ")} in account ${accounts.join(", ")}${found.length ? ` (there: ${[...new Set(found)].sort().join(", ")})` : ""}`;
}

const sequencePair = z.object({ consumerSeq: z.number().int().nonnegative(), streamSeq: z.number().int().nonnegative() });
const consumerPosition = z.object({ delivered: sequencePair, ackFloor: sequencePair });
/** A path inside the backup directory, '/'-separated, that cannot point outside it. */
const relativePath = z.string().regex(/^(?!.*(^|\/)\.\.?(\/|$))[^/\\][^\\]*$/, "a path inside the backup directory");

const streamRecord = z.object({
  account: z.string().min(1),
  name: z.string().min(1),
  config: z.looseObject({ name: z.string() }),
  /** When the snapshot started: the archive holds every one of these messages. */
  state: z.object({ messages: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), firstSeq: z.number().int().nonnegative(), lastSeq: z.number().int().nonnegative() }),
  contentHash: z.string().nullable(),
  contentNote: z.string().optional(),
  publishedDuringBackup: z.array(z.tuple([z.number().int().positive(), z.string()])),
  consumers: z.array(
    z.object({
      name: z.string(),
      config: z.looseObject({}),
      /** Before the snapshot; `movedDuringBackup` is where it was after, when it moved. */
      position: consumerPosition,
      movedDuringBackup: consumerPosition.optional(),
    }),
  ),
  files: z.array(z.object({ path: relativePath, bytes: z.number().int().nonnegative(), sha256: z.string() })),
  seconds: z.number(),
});

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string(),
  source: z.string(),
  serverVersion: z.string(),
  streams: z.array(streamRecord),
  skipped: z.array(z.object({ account: z.string(), stream: z.string(), reason: z.string() })),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type StreamRecord = z.infer<typeof streamRecord>;
export type ConsumerRecord = StreamRecord["consumers"][number];
export type ConsumerPosition = z.infer<typeof consumerPosition>;
export type BackupFile = StreamRecord["files"][number];

/** Where a stream's files go, relative to the backup directory. */
export const streamDir = (account: string, stream: string) => `${account}/${stream}`;

export function writeManifest(dir: string, manifest: Manifest): void {
  const file = path.join(dir, MANIFEST_FILE);
  const partial = `${file}.partial`;
  writeFileSync(partial, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  renameSync(partial, file);
}

/** The manifest of `dir`, checked; a BackupInputError says why `dir` is not a usable backup. */
export function readManifest(dir: string): Manifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BackupInputError(`${dir} is not a directory`);
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new BackupInputError(`${dir} is not a complete nats-infra backup: it has no ${MANIFEST_FILE} (a backup writes it last, when every stream is in)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new BackupInputError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if ((raw as { format?: unknown })?.format !== BACKUP_FORMAT) throw new BackupInputError(`${file} is not a nats-infra backup manifest (no "format": "${BACKUP_FORMAT}")`);
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupInputError(`${file} is damaged: ${issue.path.join(".")}: ${issue.message}`);
  }
  if (parsed.data.formatVersion > BACKUP_FORMAT_VERSION) {
    throw new BackupInputError(`${file} is format version ${parsed.data.formatVersion}; this nats-infra reads up to ${BACKUP_FORMAT_VERSION}: restore with a newer nats-infra`);
  }
  return parsed.data;
}

/** Size and sha256 of a file, read as a stream (archives can be large). */
export async function describeFile(dir: string, relative: string): Promise<BackupFile> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path.join(dir, relative))) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { path: relative, bytes, sha256: hash.digest("hex") };
}

/** Every file of these streams is there, whole: the size and sha256 the manifest recorded. */
export async function checkFiles(dir: string, streams: StreamRecord[]): Promise<void> {
  for (const stream of streams) {
    for (const expected of stream.files) {
      if (!existsSync(path.join(dir, expected.path))) throw new BackupInputError(`the backup is damaged: ${expected.path} is missing`);
      const found = await describeFile(dir, expected.path);
      if (found.bytes !== expected.bytes || found.sha256 !== expected.sha256) {
        throw new BackupInputError(`the backup is damaged: ${expected.path} is not the file the manifest recorded (${found.bytes} bytes, sha256 ${found.sha256.slice(0, 12)}…)`);
      }
    }
  }
}
