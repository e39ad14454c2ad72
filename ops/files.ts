// Writing rendered config and credentials to disk, for everything that runs outside Pulumi (the
// render command, the dev server, the test and benchmark servers). Secret-bearing files are
// owner-only.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AUTH_CONF_FILE, CLUSTER_CONF_FILE, NATS_CONF_FILE } from "../render/natsConf";
import type { RenderedFiles } from "../render/files";

/** Owner-only (0600), also when the file already existed: writeFileSync's mode applies only on create. */
export function writePrivate(file: string, content: string): void {
  if (existsSync(file)) chmodSync(file, 0o600); // before the secret goes in
  writeFileSync(file, content, { mode: 0o600 });
}

/** Writes nats.conf, auth.conf and (in a cluster) cluster.conf into `dir` (made if missing); returns their paths. */
export function writeRenderedFiles(dir: string, files: RenderedFiles): { natsConf: string; authConf: string } {
  mkdirSync(dir, { recursive: true });
  const natsConf = path.join(dir, NATS_CONF_FILE);
  const authConf = path.join(dir, AUTH_CONF_FILE);
  writePrivate(authConf, files.authConf);
  if (files.clusterConf !== undefined) writePrivate(path.join(dir, CLUSTER_CONF_FILE), files.clusterConf);
  writeFileSync(natsConf, files.natsConf);
  return { natsConf, authConf };
}
