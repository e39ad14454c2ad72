// Part "auth" (mocks half): what one auth change makes the engine do, at several stack sizes.
// Goal: an auth change creates or deletes only that service's password and updates only the
// config command (a reload); it never replaces a container, which would disconnect everyone.
import { changedKeys, engineDiff } from "./support/engineDiff";
import { runInFreshProcess } from "./support/programRuns";
import { printTable, type Row } from "./support/report";
import { serviceName, syntheticStack } from "./support/stackFixtures";

const SIZES = [10, 100];
const STREAMS = 10;

type Services = { name: string; publish: string[]; subscribe: string[] }[];
const CHANGES: { change: string; apply: (services: Services) => Services }[] = [
  { change: "add one service", apply: (s) => [...s, { name: "billing-service", publish: ["billing.>"], subscribe: ["billing.>"] }] },
  { change: "remove one service", apply: (s) => s.filter((x) => x.name !== serviceName(1)) },
  {
    change: "edit one permission",
    apply: (s) => s.map((x) => (x.name === serviceName(1) ? { ...x, publish: [...x.publish, "audit.user"] } : x)),
  },
];

export interface BlastRadiusRow extends Row {
  services: number;
  change: string;
  created: number;
  updated: number;
  replaced: number;
  deleted: number;
}

export function benchBlastRadius(): { rows: BlastRadiusRow[]; details: unknown[] } {
  const rows: BlastRadiusRow[] = [];
  const details: unknown[] = [];
  for (const size of SIZES) {
    const base = syntheticStack({ services: size, streams: STREAMS });
    const before = runInFreshProcess(base, { keepResources: true }).recorded!;
    for (const { change, apply } of CHANGES) {
      const after = runInFreshProcess({ ...base, services: apply(base.services as Services) }, { keepResources: true }).recorded!;
      const diff = engineDiff(before, after);
      const env = changedKeys(before, after, "nats-config", "environment");
      rows.push({
        services: size,
        change,
        created: diff.created.length,
        updated: diff.updated.length,
        replaced: diff.replaced.length,
        deleted: diff.deleted.length,
        resources: [...diff.created.map((n) => `+${n}`), ...diff.updated.map((n) => `~${n}`), ...diff.replaced.map((n) => `+-${n}`), ...diff.deleted.map((n) => `-${n}`)].join(" "),
        "config command inputs changed": [...(diff.changedInputs["nats-config"] ?? []).filter((k) => k !== "environment"), ...env.map((k) => `environment.${k}`)].join(" "),
      });
      details.push({ services: size, change, diff, environmentKeysChanged: env });
      console.log(`  ${size} services, ${change}: ${JSON.stringify({ created: diff.created, updated: diff.updated, replaced: diff.replaced, deleted: diff.deleted })}`);
    }
  }
  printTable("Auth changes under mocks: what the engine would do (+ create, ~ update, +- replace, - delete)", rows);
  return { rows, details };
}
