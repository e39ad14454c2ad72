// What a JetStream store directory on this host holds: a single server's streams, or a cluster
// node's. A cluster does not take over a single server's streams: its meta group does not know
// them and deletes them as orphans about 30 s after start (nats-server #5467; checked on
// 2.14.10, test/cluster/scaleUp.server.test.ts). A clustered server keeps its meta group in
// <system account>/_js_; a single server has none.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { SYSTEM_ACCOUNT } from "../config/schema";

/** "ACCOUNT > STREAM" for every stream of a single server's store under `storeDir` (which holds `jetstream/`). */
export function singleServerStreams(storeDir: string): string[] {
  const jetstream = path.join(storeDir, "jetstream");
  if (!existsSync(jetstream) || existsSync(path.join(jetstream, SYSTEM_ACCOUNT, "_js_"))) return [];
  return readdirSync(jetstream).flatMap((account) => {
    const streams = path.join(jetstream, account, "streams");
    return existsSync(streams) ? readdirSync(streams).map((stream) => `${account} > ${stream}`) : [];
  });
}
