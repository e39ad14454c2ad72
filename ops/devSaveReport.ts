// What a save of the stack file did, in lines for a person: the dev server prints them after
// each apply (`+ user billing-service`, `~ permissions of user-service`, `+ stream ORDERS`,
// `restart of nats-1 (jetstream.maxFileStore)`). Pure: two configs and the reconciler's result in,
// lines out.
import { clusterNodes } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import { configValue, SERVER_OPTIONS } from "../config/serverOptions";
import { natsUsers } from "../config/users";
import { changesServer, planName } from "../streams/plan";
import type { ReconcileResult } from "../streams/reconcile";

/** How an apply restarted the servers: one at a time, or all stopped and started on a new layout. */
export type Restart = "none" | "rolling" | "all";

export interface RunningConfig {
  config: StackConfig;
  passwords: Record<string, string>;
}

/**
 * What a save changed, for a person: the services (+ added, - removed, ~ permissions, account
 * or password), accounts, server settings (restarted ones in one "restart of ..." line), the
 * cluster. Streams, KV buckets and object stores are said by describeStreams, from what the
 * reconciler did.
 */
export function describeSave(before: RunningConfig, after: RunningConfig, restart: Restart): string[] {
  const lines: string[] = [];
  const services = (c: StackConfig) => new Map(natsUsers(c).filter((u) => u.role === "service").map((u) => [u.user, u]));
  const [was, now] = [services(before.config), services(after.config)];
  for (const [name, user] of now) {
    const old = was.get(name);
    if (!old) lines.push(`+ user ${name}${after.config.accounts.length > 1 ? ` (account ${user.account})` : ""}`);
    else {
      if (old.account !== user.account) lines.push(`~ account of ${name}: ${old.account} -> ${user.account}`);
      if (JSON.stringify(old.permissions) !== JSON.stringify(user.permissions)) lines.push(`~ permissions of ${name}`);
      if (before.passwords[name] !== after.passwords[name]) lines.push(`~ password of ${name}`);
    }
  }
  for (const name of was.keys()) if (!now.has(name)) lines.push(`- user ${name}`);

  const accounts = (c: StackConfig) => new Map(c.accounts.map((a) => [a.name, JSON.stringify(a)]));
  const [accountsWas, accountsNow] = [accounts(before.config), accounts(after.config)];
  for (const [name, account] of accountsNow) {
    if (!accountsWas.has(name)) lines.push(`+ account ${name}`);
    else if (accountsWas.get(name) !== account) lines.push(`~ account ${name}`);
  }
  for (const name of accountsWas.keys()) if (!accountsNow.has(name)) lines.push(`- account ${name}`);

  const restartReasons: string[] = [];
  for (const option of SERVER_OPTIONS) {
    if (option.path === null) continue;
    const [from, to] = [configValue(before.config, option.path), configValue(after.config, option.path)];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    if (option.apply.by === "restart") restartReasons.push(option.path);
    else lines.push(`~ ${option.path}: ${show(from)} -> ${show(to)}`);
  }
  const [clusterWas, clusterNow] = [before.config.cluster, after.config.cluster];
  for (const key of new Set([...Object.keys(clusterWas), ...Object.keys(clusterNow)]) as Set<keyof typeof clusterNow>) {
    if (JSON.stringify(clusterWas[key]) !== JSON.stringify(clusterNow[key])) restartReasons.push(`cluster.${key}`);
  }
  if (restart !== "none") {
    const nodes = clusterNodes(after.config).map((n) => n.serverName);
    const which = nodes.length === 1 ? nodes[0] : `${nodes.join(", ")}, ${restart === "rolling" ? "one at a time" : "all at once"}`;
    lines.push(`restart of ${which}${restartReasons.length ? ` (${restartReasons.join(", ")})` : ""}`);
  }
  return lines;
}

const show = (value: unknown) => (value === undefined ? "unset" : typeof value === "string" ? value : JSON.stringify(value));

/** What the reconciler did to each stream, bucket and store (and what it refused). */
export function describeStreams(result: ReconcileResult | undefined): string[] {
  if (!result) return [];
  const lines: string[] = [];
  for (const plan of result.plans.flatMap((p) => p.streams)) {
    const name = planName(plan);
    if (plan.kind === "refused") lines.push(`! ${name} refused, left as it is (the reasons above)`);
    else if (!changesServer(plan)) continue;
    else if (plan.kind === "create") lines.push(`+ ${name}`);
    else if (plan.kind === "delete") lines.push(`- ${name}`);
    else if (plan.kind === "replace") lines.push(`-/+ ${name} (replaced)`);
    else {
      const fields = [...plan.changes.map((c) => c.field), ...plan.consumers.filter((c) => c.kind !== "unchanged" && c.kind !== "unmanaged" && c.kind !== "absent").map((c) => `consumer ${c.name}`)];
      lines.push(`~ ${name}${fields.length ? ` (${fields.join(", ")})` : ""}`);
    }
  }
  return lines;
}
