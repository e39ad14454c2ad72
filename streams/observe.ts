// Reads what the server holds for the declared streams: read-only requests only.
import { JetStreamApiCodes, JetStreamApiError, type ConsumerInfo, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import type { StreamDeclaration } from "../config/streams";
import type { Observed } from "./diff";
import { needsSubjectCounts } from "./losses";

export async function observeStream(jsm: JetStreamManager, stream: StreamDeclaration, now = new Date()): Promise<Observed> {
  const info = await streamInfo(jsm, stream.name);
  const consumers: ConsumerInfo[] = [];
  if (info) for await (const consumer of jsm.consumers.list(stream.name)) consumers.push(consumer);
  let subjectCounts: Record<string, number> | undefined;
  if (needsSubjectCounts(stream, info)) {
    subjectCounts = (await jsm.streams.info(stream.name, { subjects_filter: ">" })).state.subjects ?? {};
  }
  return { info, consumers, subjectCounts, now };
}

export async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
}

/** Every stream of the connected account whose name is not in `declared`. */
export async function otherStreams(jsm: JetStreamManager, declared: Set<string>): Promise<StreamInfo[]> {
  const found: StreamInfo[] = [];
  for await (const info of jsm.streams.list()) if (!declared.has(info.config.name)) found.push(info);
  return found.sort((a, b) => a.config.name.localeCompare(b.config.name));
}
