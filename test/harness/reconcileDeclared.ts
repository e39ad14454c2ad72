// Creates what a stack config declares (streams, KV buckets, object stores) on a running server
// the way a deployment does: the reconciler, as each account's JetStream admin. Fails with the
// reconciler's own output when anything is refused.
import type { StackConfig } from "../../config/schema";
import { envNamePart } from "../../config/primitives";
import { jetstreamAdminUser, managedJetStreamAccounts } from "../../config/users";
import { reconcile } from "../../streams/reconcile";

export async function reconcileDeclared(config: StackConfig, url: string, passwords: Record<string, string>): Promise<void> {
  const env = Object.fromEntries(managedJetStreamAccounts(config).map((account) => [`NATS_PASSWORD_${envNamePart(account)}`, passwords[jetstreamAdminUser(account)]]));
  let log = "";
  const result = await reconcile(config.streams, { url, env, dryRun: false, reportOthers: false, kv: config.kv, objectStores: config.objectStores, log: (text) => (log += `${text}\n`) });
  if (result.refused.length) throw new Error(`the reconciler refused ${result.refused.map((p) => p.stream).join(", ")}:\n${log}`);
}
