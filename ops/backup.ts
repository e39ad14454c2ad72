// Backs up the streams of a deployment into a directory: per stream the server's snapshot
// (messages, consumers and their positions), then the manifest, last. Works as each account's
// JetStream admin (Target.admins; config/users.ts grants it backupSubjects), with its own inbox
// prefix (Target.admins inboxPrefix). A stream that fails ends the backup without a manifest.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { jetstreamManager, type ConsumerInfo, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { adminStreams } from "../config/users";
import { connectAdmin, type NatsConnection } from "../streams/connect";
import { digestPublishedDuring, hashCounted, type SnapshotCount } from "./backupContent";
import {
  ARCHIVE_FILE,
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BackupInputError,
  describeFile,
  META_FILE,
  selectionProblem,
  streamDir,
  writeManifest,
  type BackupSelection,
  type ConsumerPosition,
  type ConsumerRecord,
  type Manifest,
  type StreamRecord,
} from "./backupManifest";
import { snapshotToFile, streamError, type ServerStreamState } from "./backupSnapshot";
import type { Target } from "./target";

export interface BackupOptions {
  dir: string;
  target: Target;
  selection: BackupSelection;
  /** Called as each stream is in. */
  onStream?: (record: StreamRecord) => void;
}

type Skipped = Manifest["skipped"][number];

export async function backup({ dir, target, selection, onStream }: BackupOptions): Promise<Manifest> {
  const accounts = adminAccounts(target, selection);
  refuseUsedDir(dir);
  const startedAt = new Date().toISOString();
  const plans: { account: string; nc: NatsConnection; jsm: JetStreamManager; found: string[]; streams: StreamInfo[]; skipped: Skipped[] }[] = [];
  try {
    // Every account's streams are listed before anything is written, so a wrong name changes nothing.
    for (const account of accounts) {
      const nc = await connectAdmin(target.url, account, target.admins[account]);
      const plan = { account, nc, jsm: await jetstreamManager(nc), found: [] as string[], streams: [] as StreamInfo[], skipped: [] as Skipped[] };
      plans.push(plan);
      const listed = await listStreams(plan.jsm);
      plan.found = listed.map((info) => info.config.name);
      Object.assign(plan, choose(target, account, listed, selection));
    }
    const problem = selectionProblem(selection, accounts, plans.flatMap((p) => p.found));
    if (problem) throw new BackupInputError(problem);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const streams: StreamRecord[] = [];
    for (const plan of plans) {
      for (const info of plan.streams) {
        const record = await backupStream(plan.nc, target.admins[plan.account].inboxPrefix, plan.jsm, dir, plan.account, info.config.name).catch((error: Error) => {
          throw streamError(plan.account, info.config.name, target.admins[plan.account].user, error, " (the backup is incomplete: no manifest written)");
        });
        streams.push(record);
        onStream?.(record);
      }
    }
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      startedAt,
      finishedAt: new Date().toISOString(),
      source: target.source,
      serverVersion: plans[0]?.nc.info?.version ?? "unknown",
      streams,
      skipped: plans.flatMap((p) => p.skipped),
    };
    if (streams.length > 0) writeManifest(dir, manifest);
    return manifest;
  } finally {
    await Promise.all(plans.map((p) => p.nc.close()));
  }
}

/** The accounts to back up: those the target has a JetStream admin for, or the ones named. */
export function adminAccounts(target: Target, selection: BackupSelection): string[] {
  const known = Object.keys(target.admins).sort();
  if (known.length === 0) {
    throw new BackupInputError(`${target.source} gives no JetStream admin credentials (the _jsadmin_<ACCOUNT> users), so no stream can be read or restored`);
  }
  const unknown = (selection.accounts ?? []).filter((a) => !known.includes(a));
  if (unknown.length) throw new BackupInputError(`no JetStream admin credentials for account ${unknown.join(", ")} in ${target.source} (accounts with streams: ${known.join(", ")})`);
  return selection.accounts ? known.filter((a) => selection.accounts!.includes(a)) : known;
}

function refuseUsedDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new BackupInputError(`${dir} is a file: back up into a new directory`);
  if (readdirSync(dir).length > 0) throw new BackupInputError(`${dir} exists and is not empty: back up into a new directory`);
}

async function listStreams(jsm: JetStreamManager): Promise<StreamInfo[]> {
  const streams: StreamInfo[] = [];
  for await (const info of jsm.streams.list()) streams.push(info);
  return streams.sort((a, b) => a.config.name.localeCompare(b.config.name));
}

/**
 * Which of an account's streams to back up. With a stack config, only declared ones (streams,
 * and the streams under KV buckets and object stores): the admin's permissions name each, so it
 * has no rights on any other.
 */
function choose(target: Target, account: string, found: StreamInfo[], selection: BackupSelection): { streams: StreamInfo[]; skipped: Skipped[] } {
  const skipped: Skipped[] = [];
  const named = (name: string) => !selection.streams || selection.streams.includes(name);
  const declared = target.config && adminStreams(target.config, account).map((s) => s.name);
  const streams = found.filter((info) => {
    const stream = info.config.name;
    if (!named(stream)) return false;
    if (declared && !declared.includes(stream)) skipped.push({ account, stream, reason: "not in the stack config: its JetStream admin has no rights on it" });
    else if (info.config.storage === "memory") skipped.push({ account, stream, reason: "memory storage: the server takes snapshots of file streams only" });
    else return true;
    return false;
  });
  for (const stream of declared ?? []) {
    if (named(stream) && !found.some((info) => info.config.name === stream)) skipped.push({ account, stream, reason: "declared, but not on the server" });
  }
  return { streams, skipped };
}

async function backupStream(nc: NatsConnection, inboxPrefix: string, jsm: JetStreamManager, dir: string, account: string, stream: string): Promise<StreamRecord> {
  const started = performance.now();
  const relative = streamDir(account, stream);
  mkdirSync(path.join(dir, relative), { recursive: true, mode: 0o700 });
  const before = await consumerPositions(jsm, stream);
  let hashing: ReturnType<typeof hashCounted> | undefined;
  const snapshot = await snapshotToFile(nc, inboxPrefix, stream, path.join(dir, relative, ARCHIVE_FILE), ({ state }) => {
    hashing = hashCounted(nc, stream, countOf(state));
    hashing.catch(() => undefined); // awaited below, unless the snapshot fails first
  });
  // natscli's backup.json, so that `nats backup restore stream` takes this directory too.
  writeFileSync(path.join(dir, relative, META_FILE), `${JSON.stringify({ config: snapshot.config, state: snapshot.state }, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  const lastSeqAfter = (await jsm.streams.info(stream)).state.last_seq;
  const after = await consumerPositions(jsm, stream);
  const counted = countOf(snapshot.state);
  const content = { ...(await hashing!), publishedDuringBackup: await digestPublishedDuring(nc, stream, counted, lastSeqAfter) };
  const consumers = [...before.values()].map((consumer): ConsumerRecord => {
    const moved = after.get(consumer.name)?.position;
    return moved && JSON.stringify(moved) !== JSON.stringify(consumer.position) ? { ...consumer, movedDuringBackup: moved } : consumer;
  });
  return {
    account,
    name: stream,
    config: snapshot.config,
    state: { ...counted, bytes: snapshot.state.bytes },
    ...content,
    consumers,
    // The archive's size and sha256 were taken as it was written; only the small meta file is read back.
    files: [await describeFile(dir, `${relative}/${META_FILE}`), { path: `${relative}/${ARCHIVE_FILE}`, bytes: snapshot.bytes, sha256: snapshot.sha256 }],
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

const countOf = (state: ServerStreamState): SnapshotCount => ({ messages: state.messages, firstSeq: state.first_seq, lastSeq: state.last_seq });

/** The durable consumers (a backup's business; ephemeral ones belong to a running client) and where each stands. */
async function consumerPositions(jsm: JetStreamManager, stream: string): Promise<Map<string, ConsumerRecord>> {
  const positions = new Map<string, ConsumerRecord>();
  for await (const info of jsm.consumers.list(stream)) {
    if (!info.config.durable_name) continue;
    positions.set(info.name, { name: info.name, config: info.config as unknown as Record<string, unknown>, position: positionOf(info) });
  }
  return positions;
}

export function positionOf(info: ConsumerInfo): ConsumerPosition {
  return {
    delivered: { consumerSeq: info.delivered.consumer_seq, streamSeq: info.delivered.stream_seq },
    ackFloor: { consumerSeq: info.ack_floor.consumer_seq, streamSeq: info.ack_floor.stream_seq },
  };
}
