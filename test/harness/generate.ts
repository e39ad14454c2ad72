// Deterministic stack configs for property-style tests: the same seed gives the same configs on
// every machine, so a failure names a seed and an index that reproduce it. Each config is raw
// stack config (as under `nats-infra:` in a stack file) plus the facts a test needs to check it:
// which subjects cross accounts and which must not.

/** A small seeded PRNG (mulberry32): fast, and enough to vary configs; not for secrets. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CrossAccountFact {
  kind: "stream" | "service";
  from: string;
  to: string;
  /** A concrete subject published (stream) or requested (service) on the exporting side. */
  subject: string;
  /** For services: the subject the importing account requests (the import's `to`, or `subject`). */
  localSubject: string;
}

export interface GeneratedConfig {
  seed: number;
  index: number;
  raw: Record<string, unknown>;
  accounts: string[];
  /** Imports that must work end to end. */
  crossings: CrossAccountFact[];
  /** Subjects published in `from` that no export covers: they must not reach `to`. */
  isolated: { from: string; to: string; subject: string }[];
}

const DOMAINS = ["orders", "billing", "audit", "stock", "geo", "mail", "users", "ship", "pay", "log", "auth", "media"];
const WORDS = ["created", "updated", "deleted", "get", "list", "ping", "status", "report", "sync", "retry"];
const ACCOUNT_WORDS = ["TEAM", "ORG", "TENANT", "UNIT", "GROUP"];

export function generateConfigs(seed: number, count: number): GeneratedConfig[] {
  return Array.from({ length: count }, (_, index) => generateConfig(seed, index));
}

export function generateConfig(seed: number, index: number): GeneratedConfig {
  const random = seededRandom(seed * 1_000_003 + index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chance = (p: number) => random() < p;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

  // One config in three keeps the implicit default account; the others declare two or three.
  const accountCount = index % 3 === 0 ? 1 : between(2, 3);
  const declareAccounts = accountCount > 1 || chance(0.5);
  const accounts = declareAccounts
    ? Array.from({ length: accountCount }, (_, a) => `${pick(ACCOUNT_WORDS)}_${index}${String.fromCharCode(65 + a)}${chance(0.3) ? "-X" : ""}`)
    : ["APP"];
  // Each account owns a domain (its first subject token), so exports have something to name.
  const domains = accounts.map((_, a) => `${DOMAINS[(index + a * 5) % DOMAINS.length]}${a}`);

  const pattern = (domain: string): string => {
    const word = pick(WORDS);
    switch (between(0, 6)) {
      case 0:
        return `${domain}.${word}`;
      case 1:
        return `${domain}.*`;
      case 2:
        return `${domain}.>`;
      case 3:
        return `${domain}.*.${word}`;
      case 4:
        return `${domain}.${word}.>`;
      case 5:
        return `${domain}.${word}.*`;
      default:
        return `*.${word}`;
    }
  };

  const services: Record<string, unknown>[] = [];
  accounts.forEach((account, a) => {
    const serviceCount = between(1, 3);
    for (let s = 0; s < serviceCount; s++) {
      // Mostly the account's own domain; sometimes a neighbour's subjects too.
      const domainFor = () => (chance(0.8) ? domains[a] : pick(domains));
      services.push({
        name: `${pick(DOMAINS)}-${index}-${a}-${s}`,
        ...(declareAccounts ? { account } : {}),
        publish: Array.from({ length: between(0, 3) }, () => pattern(domainFor())),
        subscribe: withoutUnboundedStars(Array.from({ length: between(0, 3) }, () => pattern(domainFor()))),
        requests: chance(0.7),
        responses: chance(0.7),
      });
    }
  });

  const crossings: CrossAccountFact[] = [];
  const isolated: GeneratedConfig["isolated"] = [];
  const accountEntries = accounts.map((name) => ({
    name,
    jetstream: chance(0.8),
    exports: [] as Record<string, string>[],
    imports: [] as Record<string, string>[],
  }));
  if (accounts.length > 1) {
    accounts.forEach((from, a) => {
      const to = accounts[(a + 1) % accounts.length];
      const domain = domains[a];
      const feed = pick(WORDS);
      // A stream export, imported whole or narrowed to one subject.
      const exported = chance(0.5) ? `${domain}.feed.>` : `${domain}.feed.*`;
      const imported = chance(0.5) ? exported : `${domain}.feed.${feed}`;
      accountEntries[a].exports.push({ stream: exported });
      accountEntries[(a + 1) % accounts.length].imports.push({ stream: imported, account: from });
      crossings.push({ kind: "stream", from, to, subject: `${domain}.feed.${feed}`, localSubject: `${domain}.feed.${feed}` });
      // A service export, imported under its own name or a local one.
      const serviceSubject = `${domain}.svc.${pick(WORDS)}`;
      const local = chance(0.5) ? `local${a}.${pick(WORDS)}` : undefined;
      accountEntries[a].exports.push({ service: serviceSubject });
      accountEntries[(a + 1) % accounts.length].imports.push({ service: serviceSubject, account: from, ...(local ? { to: local } : {}) });
      crossings.push({ kind: "service", from, to, subject: serviceSubject, localSubject: local ?? serviceSubject });
      // Neither exported nor imported: must stay in its account.
      isolated.push({ from, to, subject: `${domain}.private.${feed}` });
      isolated.push({ from, to, subject: `${domain}.feedx.${feed}` });
      // Deeper than a one-token export (or than a narrowed import): not exported, or not imported.
      if (exported.endsWith(".*") || imported !== exported) isolated.push({ from, to, subject: `${domain}.feed.${feed}.deeper` });
    });
  }

  // Now and then a stream, so the rendered config also carries the JetStream admin users.
  const streams = accountEntries
    .map((account, a) => ({ account, a }))
    .filter(({ account }) => account.jetstream && chance(0.5))
    .map(({ account, a }) => ({
      name: `S${index}_${a}`,
      ...(declareAccounts ? { account: account.name } : {}),
      subjects: [`${domains[a]}.stored.>`],
      consumers: [{ name: `c${index}-${a}`, type: "pull" }],
    }));

  const raw: Record<string, unknown> = {
    services,
    ...(declareAccounts ? { accounts: accountEntries } : {}),
    ...(streams.length ? { streams } : {}),
    server: { name: `gen-${seed}-${index}` },
  };
  return { seed, index, raw, accounts, crossings, isolated };
}

/**
 * Drops `x.*` from a subscribe list that also holds a pattern reaching into `x.*.>` without
 * covering it (`x.ping.>`): the config check refuses that pair, because no deny can stop a
 * subscription to `x.>` from receiving `x.a.b` there. Generated configs are meant to be valid.
 */
function withoutUnboundedStars(subscribe: string[]): string[] {
  return subscribe.filter((pattern) => {
    if (!pattern.endsWith(".*")) return true;
    const deeper = `${pattern}.>`.split(".");
    return !subscribe.some((other) => other !== pattern && reachesInto(other.split("."), deeper));
  });
}

/** True if some subject matched by `deeper` (ending in ">") is matched by `other`. */
function reachesInto(other: string[], deeper: string[]): boolean {
  for (let i = 0; i < other.length; i++) {
    const o = other[i];
    const d = deeper[i];
    if (o === ">" || d === ">") return true;
    if (o !== "*" && d !== "*" && o !== d) return false;
  }
  return false;
}
