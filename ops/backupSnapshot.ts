// The JetStream snapshot and restore API on the wire, as nats-server 2.14 speaks it (read from
// its jetstream_api.go; natscli's jsm.go does the same): a snapshot streams an s2-compressed tar
// of the stream's store (messages, and the consumers with their state) to an inbox, each chunk
// carrying a reply subject to acknowledge it for flow control; a restore sends the archive back
// as requests to a subject the server names, and an empty request to finish. The subjects a
// user needs for all this: backupSubjects (config/users.ts, part of the JetStream admin).
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { createInbox, type Msg, type Status } from "@nats-io/nats-core";
import { backupSubjects } from "../config/users";
import type { NatsConnection } from "../streams/connect";

export { backupSubjects };

/** The stream's config and state as the server reports them (JSON, kept as is). */
export interface ServerStreamState {
  messages: number;
  bytes: number;
  first_seq: number;
  last_seq: number;
  [key: string]: unknown;
}
export type ServerStreamConfig = { name: string; storage?: string; [key: string]: unknown };

/** What natscli writes as backup.json beside the archive; the restore request is this object. */
export interface SnapshotMeta {
  config: ServerStreamConfig;
  state: ServerStreamState;
}

/** A JetStream API error answer: its code (e.g. 404) and JetStream error code (e.g. 10059). */
export class JetStreamRequestError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly errCode: number,
  ) {
    super(message);
  }
}

const EMPTY = new Uint8Array(0);
const API_TIMEOUT_MS = 10_000;
/** The server's chunk size default; 128 KiB keeps a chunk far below any max_payload. */
const SNAPSHOT_CHUNK_BYTES = 128 * 1024;
/** What a restore sends per request, as natscli does; also below any sensible max_payload. */
const RESTORE_CHUNK_BYTES = 64 * 1024;
/** The server gives up after 5 s without an acknowledgement; a silent server gets a little more. */
const SNAPSHOT_IDLE_MS = 15_000;
/** After the last chunk the server rebuilds the stream from the archive: that can take long. */
const RESTORE_FINISH_MS = 10 * 60_000;

/** A JetStream API request whose answer is JSON; an error answer becomes a JetStreamRequestError. */
export async function jsRequest<T>(nc: NatsConnection, subject: string, body: unknown, timeout = API_TIMEOUT_MS): Promise<T> {
  return parseAnswer<T>(await nc.request(subject, JSON.stringify(body), { timeout }), subject);
}

function parseAnswer<T>(msg: Msg, subject: string): T {
  const answer = msg.json<T & { error?: { code: number; err_code: number; description: string } }>();
  if (answer.error) throw new JetStreamRequestError(`${subject}: ${answer.error.description}`, answer.error.code, answer.error.err_code);
  return answer;
}

export interface SnapshotFile extends SnapshotMeta {
  bytes: number;
  sha256: string;
}

/**
 * Takes a snapshot of `stream`, consumers included, into `file` (created owner-only; it must not
 * exist). The chunks arrive under `inboxPrefix`, the connection's own (the one place a user may
 * subscribe to: the JetStream admin's is `_INBOX__jsadmin_<ACCOUNT>`). `onStarted` hears the
 * stream's config and state as the server counted them, while the archive is still coming; the
 * promise resolves when the server has sent the last chunk.
 */
export async function snapshotToFile(nc: NatsConnection, inboxPrefix: string, stream: string, file: string, onStarted?: (meta: SnapshotMeta) => void): Promise<SnapshotFile> {
  const out = createWriteStream(file, { flags: "wx", mode: 0o600 });
  const opened = new Promise<void>((resolve, reject) => out.once("open", () => resolve()).once("error", reject));
  await opened;
  const hash = createHash("sha256");
  let bytes = 0;
  const inbox = createInbox(inboxPrefix);
  let settle!: (error?: Error) => void;
  const received = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  // An error can end the snapshot before anything awaits it (a refused request): not unhandled.
  received.catch(() => undefined);
  const idle = setTimeout(() => settle(new Error(`the server sent no snapshot data for ${SNAPSHOT_IDLE_MS / 1000} s`)), SNAPSHOT_IDLE_MS);
  const sub = nc.subscribe(inbox, {
    callback: (error: Error | null, msg: Msg) => {
      if (error) return settle(error);
      idle.refresh();
      if (msg.data.length === 0) {
        // The end: status 204 when complete, another status (408, 500) with the server's reason.
        // No status at all is complete too: nats-server sets 204 only once it has sent a full
        // chunk, so a snapshot smaller than one chunk (a small stream or bucket) ends without it.
        const status = msg.headers?.code;
        const complete = status === undefined || status === 204;
        return settle(complete ? undefined : new Error(`the server ended the snapshot: ${status} ${msg.headers?.description ?? ""}`.trim()));
      }
      // Acknowledge at once: the data is in memory, and a late acknowledgement stalls the server.
      if (msg.reply) msg.respond(EMPTY);
      const chunk = Buffer.from(msg.data);
      hash.update(chunk);
      bytes += chunk.length;
      out.write(chunk);
    },
  });
  const permissionError = watchPermissionErrors(nc, settle);
  try {
    // The inbox is subscribed before the server starts sending.
    await nc.flush();
    const answer = await jsRequest<SnapshotMeta>(nc, `$JS.API.STREAM.SNAPSHOT.${stream}`, { deliver_subject: inbox, chunk_size: SNAPSHOT_CHUNK_BYTES });
    onStarted?.(answer);
    await received;
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { config: answer.config, state: answer.state, bytes, sha256: hash.digest("hex") };
  } finally {
    clearTimeout(idle);
    sub.unsubscribe();
    permissionError.stop();
    if (!out.closed) out.destroy();
  }
}

/**
 * Restores `meta`'s stream from the archive `file`: the stream must not exist. Resolves with the
 * restored stream's state once the server has rebuilt it.
 */
export async function restoreFromFile(nc: NatsConnection, meta: SnapshotMeta, file: string): Promise<ServerStreamState> {
  const stream = meta.config.name;
  const { deliver_subject: deliver } = await jsRequest<{ deliver_subject: string }>(nc, `$JS.API.STREAM.RESTORE.${stream}`, meta);
  for await (const chunk of createReadStream(file, { highWaterMark: RESTORE_CHUNK_BYTES })) {
    const answer = await nc.request(deliver, chunk as Buffer, { timeout: API_TIMEOUT_MS });
    // An empty answer acknowledges the chunk; anything else is the server's error.
    if (answer.data.length > 0) parseAnswer(answer, `restore of ${stream}`);
  }
  const done = await nc.request(deliver, EMPTY, { timeout: RESTORE_FINISH_MS });
  return parseAnswer<{ state: ServerStreamState }>(done, `restore of ${stream}`).state;
}

/**
 * A publish the user may not make (an acknowledgement) is refused by the server without an
 * answer; the client hears of it as a connection status, which ends the snapshot with the reason.
 */
function watchPermissionErrors(nc: NatsConnection, fail: (error: Error) => void): { stop(): void } {
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "error" && /permission/i.test(String(status.error))) fail(new Error(String(status.error)));
    }
  })();
  return { stop: () => statuses.stop?.() };
}

const isPermissionError = (error: unknown) => /permissions violation/i.test(String((error as Error)?.message ?? error));

/**
 * The restore subjects of `stream` the connected user may not publish to, found without
 * changing anything: an empty restore request is answered "bad request", and a chunk sent to no
 * restore is answered "no responders"; only a refused publish is a permissions violation. Asked
 * before a --force deletes a stream that a refused restore would then not bring back.
 */
export async function refusedRestoreSubjects(nc: NatsConnection, stream: string): Promise<string[]> {
  const probes = [`$JS.API.STREAM.RESTORE.${stream}`, `$JS.SNAPSHOT.RESTORE.${stream}.probe`, `$JS.API.STREAM.MSG.GET.${stream}`];
  const refused: string[] = [];
  for (const subject of probes) {
    await nc.request(subject, EMPTY, { timeout: API_TIMEOUT_MS }).catch((error: unknown) => {
      if (isPermissionError(error)) refused.push(subject.replace(/\.probe$/, ".*"));
    });
  }
  return refused;
}

/** One stream's failure, named; for a refused publish, with the subjects its user needs. */
export function streamError(account: string, stream: string, user: string, error: Error, after = ""): Error {
  const grant = isPermissionError(error) ? `; ${user} needs to publish to ${backupSubjects(stream).join(", ")}` : "";
  return Object.assign(new Error(`${account}/${stream}: ${error.message}${grant}${after}`), { cause: error });
}
