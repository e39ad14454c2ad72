// Restores a backup directory's streams, then checks each one against the manifest: its
// messages (count, first and last sequence, content hash) and its consumers' positions.
// Everything that can be refused is refused before anything changes: not a backup, a damaged
// file, a stream that exists (without --force), a stream the admin may not replace.
import { readFileSync } from "node:fs";
import path from "node:path";
import { jetstreamManager, type ConsumerInfo, type JetStreamManager } from "@nats-io/jetstream";
import type { StackConfig } from "../config/schema";
import { adminStreams } from "../config/users";
import { connectAdmin, type NatsConnection } from "../streams/connect";
import { streamInfo } from "../streams/observe";
import { adminAccounts, positionOf } from "./backup";
import { checkContent, type ContentCheck } from "./backupContent";
import {
  ARCHIVE_FILE,
  BackupInputError,
  checkFiles,
  META_FILE,
  readManifest,
  selectionProblem,
  streamDir,
  type BackupSelection,
  type ConsumerRecord,
  type Manifest,
  type StreamRecord,
} from "./backupManifest";
import { refusedRestoreSubjects, restoreFromFile, streamError, type SnapshotMeta } from "./backupSnapshot";
import type { Target } from "./target";

export interface RestoreOptions {
  dir: string;
  target: Target;
  selection: BackupSelection;
  /** Replace streams that exist (deleting their messages and consumers first). */
  force: boolean;
  onStream?: (result: StreamRestore) => void;
}

export interface StreamRestore {
  account: string;
  name: string;
  /** An existing stream was deleted first (--force). */
  replaced: boolean;
  content: ContentCheck;
  consumers: ConsumerCheck[];
  ok: boolean;
  seconds: number;
}

export interface ConsumerCheck {
  name: string;
  /** Stream sequences: where the restored consumer's ack floor is, and the manifest's (after the backup). */
  ackFloor?: number;
  expectedAckFloor?: number;
  problems: string[];
}

export type RestoreOutcome = { refused: { stream: string; reason: string }[] } | { manifest: Manifest; streams: StreamRestore[] };

/** Consumers of a restored stream appear a moment later in a cluster (assigned after the restore). */
const CONSUMERS_APPEAR_MS = 15_000;

export async function restore({ dir, target, selection, force, onStream }: RestoreOptions): Promise<RestoreOutcome> {
  const manifest = readManifest(dir);
  const chosen = chooseStreams(manifest, selection);
  await checkFiles(dir, chosen);
  const metas = new Map(chosen.map((s) => [s, readMeta(dir, s)]));
  const accounts = adminAccounts(target, { accounts: [...new Set(chosen.map((s) => s.account))] });
  const connections = new Map<string, { nc: NatsConnection; jsm: JetStreamManager }>();
  try {
    for (const account of accounts) {
      const nc = await connectAdmin(target.url, account, target.admins[account]);
      connections.set(account, { nc, jsm: await jetstreamManager(nc) });
    }
    const existing = new Set<StreamRecord>();
    for (const stream of chosen) if (await streamInfo(connections.get(stream.account)!.jsm, stream.name)) existing.add(stream);
    const refused = restoreRefusals(target.config, chosen, existing, force);
    // Only when nothing else stops it: the rights to restore, before a --force deletes anything.
    if (refused.length === 0) refused.push(...(await missingRights(target, chosen, connections)));
    if (refused.length) return { refused };
    const results: StreamRestore[] = [];
    for (const stream of chosen) {
      const { nc, jsm } = connections.get(stream.account)!;
      const result = await restoreStream(nc, jsm, dir, stream, metas.get(stream)!, existing.has(stream)).catch((error: Error) => {
        throw streamError(stream.account, stream.name, target.admins[stream.account].user, error);
      });
      results.push(result);
      onStream?.(result);
    }
    return { manifest, streams: results };
  } finally {
    await Promise.all([...connections.values()].map((c) => c.nc.close()));
  }
}

function chooseStreams(manifest: Manifest, selection: BackupSelection): StreamRecord[] {
  const inAccounts = manifest.streams.filter((s) => !selection.accounts || selection.accounts.includes(s.account));
  const missingAccounts = (selection.accounts ?? []).filter((a) => !manifest.streams.some((s) => s.account === a));
  if (missingAccounts.length) throw new BackupInputError(`the backup has no streams of account ${missingAccounts.join(", ")}`);
  const accounts = [...new Set(inAccounts.map((s) => s.account))];
  const problem = selectionProblem(selection, accounts, inAccounts.map((s) => s.name));
  if (problem) throw new BackupInputError(`${problem}, in the backup`);
  return inAccounts.filter((s) => !selection.streams || selection.streams.includes(s.name));
}

function readMeta(dir: string, stream: StreamRecord): SnapshotMeta {
  const meta = JSON.parse(readFileSync(path.join(dir, streamDir(stream.account, stream.name), META_FILE), "utf8")) as SnapshotMeta;
  if (meta.config?.name !== stream.name) throw new BackupInputError(`the backup is damaged: ${streamDir(stream.account, stream.name)}/${META_FILE} is not stream ${stream.name}'s`);
  return meta;
}

/**
 * Streams that must not be touched: one that exists (without --force), and, with a stack
 * config, one its JetStream admin may not restore (not declared) or not delete (--force on a
 * stream without allowDelete).
 */
export function restoreRefusals(config: StackConfig | undefined, chosen: StreamRecord[], existing: Set<StreamRecord>, force: boolean): { stream: string; reason: string }[] {
  return chosen.flatMap((stream) => {
    const name = `${stream.account}/${stream.name}`;
    const declaration = config && adminStreams(config, stream.account).find((s) => s.name === stream.name);
    if (config && !declaration) return [{ stream: name, reason: "not in the stack config: its JetStream admin may not create it; declare it first" }];
    if (!existing.has(stream)) return [];
    // Both conditions in one message when both apply, so that following it once is enough.
    const deletable = !declaration || declaration.allowDelete;
    if (!force && !deletable) return [{ stream: name, reason: "exists; replacing it needs --force and allowDelete: true on it in the stack config (its current messages and consumers are deleted)" }];
    if (!force) return [{ stream: name, reason: "exists; --force replaces it (its current messages and consumers are deleted)" }];
    if (!deletable) return [{ stream: name, reason: "exists, and its stack config does not allow deleting it (allowDelete: true), which replacing it needs" }];
    return [];
  });
}

async function missingRights(target: Target, chosen: StreamRecord[], connections: Map<string, { nc: NatsConnection }>): Promise<{ stream: string; reason: string }[]> {
  const missing: { stream: string; reason: string }[] = [];
  for (const stream of chosen) {
    const refused = await refusedRestoreSubjects(connections.get(stream.account)!.nc, stream.name);
    const user = target.admins[stream.account].user;
    if (refused.length) missing.push({ stream: `${stream.account}/${stream.name}`, reason: `${user} may not publish to ${refused.join(", ")}, which restoring it needs` });
  }
  return missing;
}

async function restoreStream(nc: NatsConnection, jsm: JetStreamManager, dir: string, stream: StreamRecord, meta: SnapshotMeta, replace: boolean): Promise<StreamRestore> {
  const started = performance.now();
  if (replace) await jsm.streams.delete(stream.name);
  // The restored stream as the restore left it: messages published since (clients may be running) are not the backup's.
  const state = await restoreFromFile(nc, meta, path.join(dir, streamDir(stream.account, stream.name), ARCHIVE_FILE));
  const content = await checkContent(nc, stream.name, { messages: state.messages, firstSeq: state.first_seq, lastSeq: state.last_seq }, {
    ...stream.state,
    contentHash: stream.contentHash,
    publishedDuringBackup: stream.publishedDuringBackup,
  });
  const found = await restoredConsumers(jsm, stream);
  const consumers = stream.consumers.map((record) => checkConsumer(record, found.get(record.name)));
  const ok = content.problems.length === 0 && consumers.every((c) => c.problems.length === 0);
  return { account: stream.account, name: stream.name, replaced: replace, content, consumers, ok, seconds: Math.round(performance.now() - started) / 1000 };
}

async function restoredConsumers(jsm: JetStreamManager, stream: StreamRecord): Promise<Map<string, ConsumerInfo>> {
  const deadline = Date.now() + CONSUMERS_APPEAR_MS;
  for (;;) {
    const found = new Map<string, ConsumerInfo>();
    for await (const info of jsm.consumers.list(stream.name)) found.set(info.name, info);
    if (stream.consumers.every((c) => found.has(c.name)) || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The restored consumer stands where the manifest says: exactly, or, when it moved while the
 * backup ran, between its positions before and after. Further on is not a fault: its clients
 * may have acknowledged more since the restore; behind means the position was lost.
 */
function checkConsumer(record: ConsumerRecord, info: ConsumerInfo | undefined): ConsumerCheck {
  if (!info) return { name: record.name, problems: [`consumer ${record.name} was not restored`] };
  const found = positionOf(info);
  const high = record.movedDuringBackup ?? record.position;
  const problems: string[] = [];
  for (const field of ["ackFloor", "delivered"] as const) {
    const low = record.position[field].streamSeq;
    const at = found[field].streamSeq;
    const expected = low === high[field].streamSeq ? `${low}` : `${low}..${high[field].streamSeq}`;
    if (at < low) problems.push(`consumer ${record.name}: ${field === "ackFloor" ? "ack floor" : "delivered"} at stream sequence ${at}, behind the manifest's ${expected}`);
  }
  return { name: record.name, ackFloor: found.ackFloor.streamSeq, expectedAckFloor: high.ackFloor.streamSeq, problems };
}
