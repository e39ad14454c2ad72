// What a backup says about a stream's messages, and how a restore checks it: every message's
// sequence, subject, headers and data, digested one by one and chained in sequence order.
//
// A snapshot is not a point in time for publishers: the server counts the stream when the
// snapshot starts, then copies the message blocks while publishers keep appending, so the
// archive holds every message of that count plus a leading part of those published while it
// ran (measured on nats-server 2.14.10: state 173,560 messages, restored 181,360). The manifest
// therefore records the snapshot's count with one content hash, and a digest of each message
// published during the backup, so a restore can tell exactly which of those it got.
import { createHash } from "node:crypto";
import type { NatsConnection } from "../streams/connect";
import { jsRequest, JetStreamRequestError } from "./backupSnapshot";

export interface StoredMessage {
  seq: number;
  subject: string;
  headers: Buffer;
  data: Buffer;
}

/** The snapshot's count: the archive holds every one of these messages. */
export interface SnapshotCount {
  messages: number;
  firstSeq: number;
  lastSeq: number;
}

export interface ContentRecord {
  /** sha256 over the digests of the counted messages, in sequence order; null when unknowable. */
  contentHash: string | null;
  /** Why there is no content hash (messages removed while the backup ran). */
  contentNote?: string;
  /** [sequence, digest] of each message published while the snapshot ran, in order. */
  publishedDuringBackup: [number, string][];
}

/** Requests in flight while reading a stream: enough to hide the round trip, few enough for a small server. */
const READ_WINDOW = 256;
const NO_MESSAGE_FOUND = 10037;

/** sha256 of one message; each part is length-prefixed, so no two different messages digest alike. */
export function messageDigest(message: StoredMessage): Buffer {
  const hash = createHash("sha256");
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(message.seq));
  hash.update(seq);
  for (const part of [Buffer.from(message.subject, "utf8"), message.headers, message.data]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part.length);
    hash.update(length).update(part);
  }
  return hash.digest();
}

/**
 * The messages with sequences from..to that the stream holds, in order. A window of requests
 * runs at once ($JS.API.STREAM.MSG.GET, the one read the JetStream admin is granted); deleted
 * sequences are skipped.
 */
export async function* readMessages(nc: NatsConnection, stream: string, from: number, to: number): AsyncGenerator<StoredMessage> {
  for (let start = from; start <= to; start += READ_WINDOW) {
    const seqs = Array.from({ length: Math.min(READ_WINDOW, to - start + 1) }, (_, i) => start + i);
    const window = await Promise.all(seqs.map((seq) => getMessage(nc, stream, seq)));
    for (const message of window) if (message) yield message;
  }
}

async function getMessage(nc: NatsConnection, stream: string, seq: number): Promise<StoredMessage | undefined> {
  try {
    const { message } = await jsRequest<{ message: { subject: string; seq: number; hdrs?: string; data?: string } }>(nc, `$JS.API.STREAM.MSG.GET.${stream}`, { seq });
    return { seq: message.seq, subject: message.subject, headers: Buffer.from(message.hdrs ?? "", "base64"), data: Buffer.from(message.data ?? "", "base64") };
  } catch (error) {
    if (error instanceof JetStreamRequestError && error.errCode === NO_MESSAGE_FOUND) return undefined;
    throw error;
  }
}

/** Chains message digests in sequence order: the hash of a run of messages. */
class ContentChain {
  private readonly hash = createHash("sha256");
  count = 0;
  add(digest: Buffer): void {
    this.hash.update(digest);
    this.count++;
  }
  hex(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

/**
 * The content hash of the counted messages. Started as soon as the snapshot has said what it
 * counts, while the archive is still coming: the sooner each message is read, the smaller the
 * chance that the stream's limits (or acknowledgements on a work queue) removed it meanwhile.
 */
export async function hashCounted(nc: NatsConnection, stream: string, counted: SnapshotCount): Promise<Pick<ContentRecord, "contentHash" | "contentNote">> {
  const chain = new ContentChain();
  if (counted.messages > 0) for await (const message of readMessages(nc, stream, counted.firstSeq, counted.lastSeq)) chain.add(messageDigest(message));
  if (chain.count === counted.messages) return { contentHash: chain.hex() };
  return {
    contentHash: null,
    contentNote: `${counted.messages - chain.count} of the snapshot's messages were removed from the stream before they could be read (its limits, or acknowledgements on a work queue), so restore cannot verify this stream's messages`,
  };
}

/** [sequence, digest] of each message after the counted ones, up to the last sequence once the snapshot was complete. */
export async function digestPublishedDuring(nc: NatsConnection, stream: string, counted: SnapshotCount, lastSeqAfter: number): Promise<[number, string][]> {
  const digests: [number, string][] = [];
  for await (const message of readMessages(nc, stream, counted.lastSeq + 1, lastSeqAfter)) digests.push([message.seq, messageDigest(message).toString("hex")]);
  return digests;
}

export interface ContentCheck {
  /** The messages the restored stream holds: how many, and the sequences of the first and last. */
  messages: number;
  firstSeq: number;
  lastSeq: number;
  /**
   * The restored stream's own last sequence. It can be past its last message: the server writes
   * the stream's index into the archive after the messages, so it may count a message published
   * in between that the archive does not hold. The next message gets the sequence after it.
   */
  streamLastSeq: number;
  /** How many of the messages published during the backup came back with it. */
  publishedDuringBackup: number;
  /** False when the manifest has no content hash (see its contentNote). */
  verified: boolean;
  problems: string[];
}

/**
 * Reads the restored stream and compares it with the manifest: the counted messages (count,
 * first and last sequence, content hash), then the rest, which must be the leading part of the
 * messages published during the backup, each with its recorded digest.
 */
export async function checkContent(
  nc: NatsConnection,
  stream: string,
  restored: { messages: number; firstSeq: number; lastSeq: number },
  expected: SnapshotCount & ContentRecord,
): Promise<ContentCheck> {
  const check: ContentCheck = { messages: 0, firstSeq: 0, lastSeq: 0, streamLastSeq: restored.lastSeq, publishedDuringBackup: 0, verified: expected.contentHash !== null, problems: [] };
  const counted = { chain: new ContentChain(), first: 0, last: 0 };
  const from = restored.messages > 0 ? restored.firstSeq : restored.lastSeq + 1;
  for await (const message of readMessages(nc, stream, from, restored.lastSeq)) {
    check.messages++;
    check.firstSeq ||= message.seq;
    check.lastSeq = message.seq;
    if (!check.verified) continue;
    const digest = messageDigest(message);
    if (message.seq <= expected.lastSeq) {
      counted.chain.add(digest);
      counted.first ||= message.seq;
      counted.last = message.seq;
      continue;
    }
    const recorded = expected.publishedDuringBackup[check.publishedDuringBackup];
    if (recorded?.[0] === message.seq && recorded[1] === digest.toString("hex")) check.publishedDuringBackup++;
    else if (check.problems.length === 0) check.problems.push(`message ${message.seq} is not one the backup recorded as published during it, in order`);
  }
  if (check.messages !== restored.messages) check.problems.push(`the stream counts ${restored.messages} messages, ${check.messages} could be read`);
  if (!check.verified) return check;
  if (counted.chain.count !== expected.messages) check.problems.push(`${counted.chain.count} messages up to sequence ${expected.lastSeq}, the manifest says ${expected.messages}`);
  else if (expected.messages > 0 && (counted.first !== expected.firstSeq || counted.last !== expected.lastSeq)) {
    check.problems.push(`sequences ${counted.first}..${counted.last}, the manifest says ${expected.firstSeq}..${expected.lastSeq}`);
  } else {
    const hash = counted.chain.hex();
    if (hash !== expected.contentHash) check.problems.push(`content hash ${hash} differs from the manifest's ${expected.contentHash}`);
  }
  return check;
}
