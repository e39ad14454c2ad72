// The server logs of a deployment's nodes, as lines: `docker logs` of a deployed node's container
// (at its dockerHost), or the nats-server.log a dev server keeps per node in its state dir. With
// several nodes every line carries the node's name; `follow` keeps reading until the signal aborts.
import { spawn } from "node:child_process";
import { SERVER_LOG_FILE } from "./devServer";
import { existsSync } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { StackConfig } from "../config/schema";
import { clusterNodes } from "../config/cluster";
import { nodeDir } from "./localRender";
import { atHost } from "./docker";

/** Where one node's log is read from. */
export type LogSource = { node: string } & ({ container: { name: string; dockerHost?: string } } | { file: string });

export interface LogOptions {
  /** The last N lines only; undefined: all of them. */
  tail?: number;
  follow: boolean;
  /** Ends a follow (Ctrl-C). */
  signal?: AbortSignal;
  /** One line, without its newline. */
  write(line: string): void;
}

/** How often a followed file is checked for new lines. */
const FOLLOW_POLL_MS = 250;


/** Each dev server node's log file, in node order (named by server_name). */
export function devLogSources(config: StackConfig, stateDir: string): LogSource[] {
  return clusterNodes(config).map((node) => ({ node: node.serverName, file: path.join(nodeDir(config, stateDir, node.index), SERVER_LOG_FILE) }));
}

/**
 * Writes the sources' lines. Without follow: one source after the other, so each node's lines
 * stay together. With follow: all at once, each line as it comes, until the signal aborts.
 */
export async function printLogs(sources: LogSource[], options: LogOptions): Promise<void> {
  const width = Math.max(...sources.map((s) => s.node.length));
  const each = sources.map((source) => {
    const prefix = sources.length > 1 ? `${source.node.padEnd(width)} | ` : "";
    return { source, write: (line: string) => options.write(`${prefix}${line}`) };
  });
  const read = ({ source, write }: (typeof each)[number]) => ("file" in source ? readFile(source.file, { ...options, write }) : readContainer(source.container, { ...options, write }));
  if (options.follow) await Promise.all(each.map(read));
  else for (const entry of each) await read(entry);
}

/** `docker logs` (nats-server writes to stderr; both streams are the server's log). */
function readContainer(container: { name: string; dockerHost?: string }, options: LogOptions): Promise<void> {
  const args = ["logs", ...(options.tail !== undefined ? ["--tail", String(options.tail)] : []), ...(options.follow ? ["--follow"] : []), container.name];
  const env = container.dockerHost ? { ...process.env, DOCKER_HOST: container.dockerHost } : process.env;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return resolve();
    const child = spawn("docker", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const lastLine = { text: "" };
    const out = lineSplitter(options.write);
    const err = lineSplitter((line) => {
      lastLine.text = line;
      options.write(line);
    });
    child.stdout.on("data", out.push);
    child.stderr.on("data", err.push);
    const stop = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", stop, { once: true });
    child.once("error", (error) => reject(new Error(`docker logs ${container.name}: ${error.message}`)));
    child.once("close", (code) => {
      options.signal?.removeEventListener("abort", stop);
      out.end();
      err.end();
      // A follow ended by the signal, or by the terminal's Ctrl-C reaching docker too (it exits
      // 130, maybe before our own SIGINT handler has run); anything else non-zero is docker's complaint.
      if (code === 0 || options.signal?.aborted || (options.follow && code === 130)) resolve();
      else reject(new Error(`docker logs ${container.name}${atHost(container.dockerHost)} failed (exit ${code}): ${lastLine.text}`));
    });
  });
}

/** The file's last `tail` lines (or all), then, with follow, what is appended until the signal aborts. */
async function readFile(file: string, options: LogOptions): Promise<void> {
  if (!existsSync(file)) throw new Error(`no log at ${file}: has the dev server run there?`);
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const lines = lineSplitter(options.write);
    const start = options.tail === undefined ? 0 : await tailStart(handle, size, options.tail);
    let offset = await copyRange(handle, start, size, lines.push);
    if (!options.follow) return lines.end();
    while (!options.signal?.aborted) {
      await sleep(FOLLOW_POLL_MS, options.signal);
      const now = (await stat(file)).size;
      // Smaller than what was read: the file was truncated or replaced; read it from its start.
      if (now < offset) offset = 0;
      if (now > offset) offset = await copyRange(handle, offset, now, lines.push);
    }
    lines.end();
  } finally {
    await handle.close();
  }
}

const CHUNK = 64 * 1024;

/** The offset where the last `count` lines of the file begin, found by reading back from its end. */
async function tailStart(handle: FileHandle, size: number, count: number): Promise<number> {
  if (count === 0) return size;
  let newlines = 0;
  let position = size;
  const buffer = Buffer.alloc(CHUNK);
  while (position > 0) {
    const length = Math.min(CHUNK, position);
    position -= length;
    await handle.read(buffer, 0, length, position);
    for (let i = length - 1; i >= 0; i--) {
      // The file's final newline ends the last line; it does not start one.
      if (buffer[i] !== 0x0a || position + i === size - 1) continue;
      if (++newlines === count) return position + i + 1;
    }
  }
  return 0;
}

/** Passes bytes [from, to) of the file on; returns where it got to. */
async function copyRange(handle: FileHandle, from: number, to: number, push: (chunk: Buffer) => void): Promise<number> {
  const buffer = Buffer.alloc(CHUNK);
  let position = from;
  while (position < to) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, to - position), position);
    if (bytesRead === 0) break;
    push(Buffer.from(buffer.subarray(0, bytesRead)));
    position += bytesRead;
  }
  return position;
}

/** Chunks in, whole lines out; a line still without its newline waits for the next chunk (or end()). */
function lineSplitter(write: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending = "";
  // A chunk may end inside a multi-byte character: the decoder keeps its first bytes for the next one.
  const decoder = new StringDecoder("utf8");
  return {
    push(chunk) {
      const lines = (pending + decoder.write(chunk)).split("\n");
      pending = lines.pop()!;
      for (const line of lines) write(line.replace(/\r$/, ""));
    },
    end() {
      pending += decoder.end();
      if (pending) write(pending);
      pending = "";
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
