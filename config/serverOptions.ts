// Every server and JetStream setting nats-infra writes to nats.conf, as one table. The renderer
// (render/natsConf.ts), the restart key (components/restartKey.ts), the refusal of overrides in
// `server.extra` and the reference docs/server-options.md are all derived from it, so the facts
// about a setting (its nats.conf key, whether a change reloads or restarts, its default, what it
// means) are written once.
//
// Adding a server option is two edits, then `npm run docs`:
//   1. its schema entry, in serverSchema or jetstreamSchema (config/schema.ts):
//        maxControlLine: z.number().int().min(1).default(4096),
//   2. its row here, where it should appear in nats.conf:
//        { path: "server.maxControlLine", nats: { as: "value", key: "max_control_line", block: "top" },
//          value: "count", default: 4096, apply: { by: "reload" }, doc: "Longest protocol line a client may send." },
// Tests fail while the schema and the table disagree, or the committed reference is stale.
// A restart-class row takes the next free restart-key position. The restart key is a container
// label: a setting that enters it changes the label of every deployed stack and so replaces
// every nats container once. Give such an option no default (optional), so that only stacks
// that set it get a new key (absent settings are left out of the key).
//
// Not every row is a setting a person configures. Ports and paths differ per render target
// (`listen`, `http`, `pid_file`, `store_dir`): their rows say where they go in nats.conf and the
// renderer computes their values. `tls` (from the `tls` section) and `include "auth.conf"` are
// not server options and stay written by the renderer alone; auth.conf is render/authConf.ts.
import type { StackConfig } from "./schema";
import { DURATION_HELP, parseSize, SIZE_HELP } from "./units";

type ServerKey = keyof StackConfig["server"] & string;
type JetstreamKey = keyof StackConfig["jetstream"] & string;
/** Where an option lives in the stack config: `server.maxPayload`, `jetstream.syncInterval`. */
export type OptionPath = `server.${ServerKey}` | `jetstream.${JetstreamKey}`;

/** nats.conf blocks the table writes into: the top level, or the `jetstream {}` block. */
export type Block = "top" | "jetstream";

/** How a row reaches nats.conf. */
export type Rendering =
  /** The configured value, written under `key`. */
  | { as: "value"; key: string; block: Block }
  /** A port or path that differs between the container and a local run; the renderer computes it. */
  | { as: "per target"; key: string; block: Block }
  /** A boolean that writes the block `key`, holding that block's rows, or leaves it out. */
  | { as: "block"; key: Exclude<Block, "top">; block: "top" }
  /** A map of top-level settings written as given, after everything nats-infra writes itself. */
  | { as: "merged" };

/** How a change of the option reaches a running server. */
export type Apply =
  /** nats-server applies it on a config reload (its server/reload.go), clients stay connected. */
  | { by: "reload" }
  /**
   * nats-server cannot reload it: the value is hashed into the restart key under `name`. The
   * key is a deployed label, its layout fixed before this table existed (and in an order
   * nats.conf does not follow): `position` keeps each entry where it has always been.
   */
  | { by: "restart"; restartKey: { name: string; position: number } }
  /** A restart too, but carried by the container's own spec (a published port), which the key hashes. */
  | { by: "restart"; restartKey: "container spec" };

/** What a person writes for the option; the reference explains each kind. */
export type ValueKind = "server name" | "port" | "count" | "size" | "duration" | "duration or always" | "boolean" | "settings map";

interface Row {
  nats: Rendering;
  /** Other top-level nats.conf keys nats-server reads into the same setting (its server/opts.go). */
  alsoSetBy?: readonly string[];
  /** One line for the reference. */
  doc: string;
}

/** A setting a person configures under `nats-infra:server` or `nats-infra:jetstream`. */
export interface ConfiguredOption extends Row {
  path: OptionPath;
  value: ValueKind;
  /** As written in Pulumi.<stack>.yaml; none for an optional setting. Must match the schema's default. */
  default?: string | number | boolean;
  apply: Apply;
}

/** A setting nats-infra derives itself (a path per render target); nobody configures it. */
export interface DerivedSetting extends Row {
  path: null;
  nats: Extract<Rendering, { as: "per target" }>;
}

export type ServerOption = ConfiguredOption | DerivedSetting;

/** In nats.conf order: the renderer writes the rows of each block in the order they appear here. */
export const SERVER_OPTIONS: readonly ServerOption[] = [
  {
    path: "server.name",
    nats: { as: "value", key: "server_name", block: "top" },
    value: "server name",
    default: "nats-0",
    apply: { by: "restart", restartKey: { name: "serverName", position: 0 } },
    doc: "The server's name in monitoring, logs and JetStream: letters, digits, '_' and '-'.",
  },
  {
    path: "server.clientPort",
    nats: { as: "per target", key: "listen", block: "top" },
    alsoSetBy: ["port", "host", "net"],
    value: "port",
    default: 4222,
    apply: { by: "restart", restartKey: "container spec" },
    doc: "Client port, published on the Docker host at `docker.bindAddress`; inside the container the server listens on `0.0.0.0:4222` (a local render: `127.0.0.1:<clientPort>`).",
  },
  {
    path: "server.monitorPort",
    nats: { as: "per target", key: "http", block: "top" },
    alsoSetBy: ["http_port", "monitor_port", "https", "https_port"],
    value: "port",
    default: 8222,
    apply: { by: "restart", restartKey: "container spec" },
    doc: "Monitoring (HTTP) port, published like clientPort (inside the container: `8222`); must differ from clientPort, and from `docker.surveyor.port` when the Surveyor runs.",
  },
  {
    path: null,
    nats: { as: "per target", key: "pid_file", block: "top" },
    alsoSetBy: ["pidfile"],
    doc: "Local render only: `<dir>/nats-server.pid`, for signalling a server run by hand.",
  },
  {
    path: "server.maxConnections",
    nats: { as: "value", key: "max_connections", block: "top" },
    alsoSetBy: ["max_conn"],
    value: "count",
    default: 10000,
    apply: { by: "reload" },
    doc: "Most client connections the server accepts at once.",
  },
  {
    path: "server.maxPayload",
    nats: { as: "value", key: "max_payload", block: "top" },
    value: "size",
    default: "1MB",
    apply: { by: "reload" },
    doc: "Largest message a client may publish; at most `64MB` (the server's max_pending): larger payloads belong in an object store.",
  },
  {
    path: "server.pingInterval",
    nats: { as: "value", key: "ping_interval", block: "top" },
    value: "duration",
    default: "20s",
    apply: { by: "reload" },
    doc: "How often the server pings a client to check the connection is alive.",
  },
  {
    path: "server.maxPingsOut",
    nats: { as: "value", key: "ping_max", block: "top" },
    value: "count",
    default: 2,
    apply: { by: "reload" },
    doc: "Unanswered pings after which the server closes the connection.",
  },
  {
    path: "server.writeDeadline",
    nats: { as: "value", key: "write_deadline", block: "top" },
    value: "duration",
    default: "10s",
    apply: { by: "reload" },
    doc: "How long a write to a slow client may block before the server closes that client.",
  },
  {
    path: "server.lameDuckDuration",
    nats: { as: "value", key: "lame_duck_duration", block: "top" },
    value: "duration",
    default: "30s",
    apply: { by: "restart", restartKey: { name: "lameDuckDuration", position: 1 } },
    doc: "Time a stopping server takes to move clients away before it exits; at least `30s` (nats-server refuses less). The container's stop timeout follows it.",
  },
  {
    path: "server.lameDuckGracePeriod",
    nats: { as: "value", key: "lame_duck_grace_period", block: "top" },
    value: "duration",
    default: "10s",
    apply: { by: "restart", restartKey: { name: "lameDuckGracePeriod", position: 2 } },
    doc: "Wait after a stop begins before the server starts closing clients; shorter than lameDuckDuration.",
  },
  {
    // Restart-class: nats-infra cannot know which of the server's settings it reloads.
    path: "server.extra",
    nats: { as: "merged" },
    value: "settings map",
    apply: { by: "restart", restartKey: { name: "extra", position: 7 } },
    doc: "Top-level nats.conf settings nats-infra does not model, written as given (see below); in the restart key only when set.",
  },
  {
    // nats-server can switch JetStream on a reload; nats-infra has always restarted for it, and
    // the deployed restart keys hold it.
    path: "jetstream.enabled",
    nats: { as: "block", key: "jetstream", block: "top" },
    value: "boolean",
    default: true,
    apply: { by: "restart", restartKey: { name: "jetstreamEnabled", position: 3 } },
    doc: "JetStream on the server; `false` leaves the jetstream block out (and then no stream may be declared).",
  },
  {
    path: null,
    nats: { as: "per target", key: "store_dir", block: "jetstream" },
    alsoSetBy: ["store_dir", "storedir"],
    doc: "JetStream data directory: `/data` in the container (the named volume), `<dir>` for a local render; the server adds `jetstream/` below it.",
  },
  // nats-server reloads a raised JetStream limit but not a lowered one; nats-infra restarts for
  // both, which keeps the rule simple (limits change rarely).
  {
    path: "jetstream.maxMemoryStore",
    nats: { as: "value", key: "max_memory_store", block: "jetstream" },
    value: "size",
    default: "1GB",
    apply: { by: "restart", restartKey: { name: "maxMemoryStore", position: 5 } },
    doc: "Memory storage limit, for all memory streams together.",
  },
  {
    path: "jetstream.maxFileStore",
    nats: { as: "value", key: "max_file_store", block: "jetstream" },
    value: "size",
    default: "50GB",
    apply: { by: "restart", restartKey: { name: "maxFileStore", position: 6 } },
    doc: "File storage limit, for all file streams together.",
  },
  {
    path: "jetstream.syncInterval",
    nats: { as: "value", key: "sync_interval", block: "jetstream" },
    value: "duration or always",
    default: "1s",
    apply: { by: "restart", restartKey: { name: "syncInterval", position: 4 } },
    doc: 'How often file storage is fsynced, or `"always"` (slowest, safest).',
  },
];

/** The option's value in a parsed stack config. */
export function configValue(config: StackConfig, path: OptionPath): unknown {
  const [section, key] = path.split(".") as ["server" | "jetstream", string];
  return (config[section] as Record<string, unknown>)[key];
}

// ---- server.extra: what it may not set ----

/** Why server.extra may not set a key, and what to do instead (when there is something). */
interface Conflict {
  conflict: string;
  instead?: string;
}

/**
 * Top-level keys outside the table that nats.conf or auth.conf already settle. Authentication
 * is nats-infra's: auth.conf declares the accounts, their users and the system account, and any
 * other source of users or accounts (an authorization block, an operator, a resolver) would
 * bypass the permissions the services declare, or clash with them.
 */
const SETTLED_OUTSIDE_THE_TABLE: readonly (Conflict & { keys: readonly string[] })[] = [
  { keys: ["tls"], conflict: "would override tls, which nats-infra writes from the tls section", instead: "configure TLS there" },
  { keys: ["include"], conflict: "would include a file nats-infra does not manage", instead: "put that file's settings here" },
  {
    keys: [
      ...["accounts", "system_account", "system", "no_system_account", "no_system", "no_sys_acc"],
      ...["authorization", "no_auth_user", "default_sentinel"],
      ...["operator", "operators", "root", "roots", "root_operator", "root_operators", "trusted", "trusted_keys"],
      ...["resolver", "account_resolver", "accounts_resolver", "resolver_tls", "resolver_preload", "resolver_pinned_accounts"],
    ],
    conflict: "would change authentication, which nats-infra writes to auth.conf from services and accounts",
    instead: "declare services and accounts",
  },
];

function conflictWithRow(option: ServerOption, own: string, key: string): Conflict {
  const setting = own === key ? own : `${own} (nats-server reads "${key}" as the same setting)`;
  if (option.path === null) return { conflict: `would override ${setting}, which nats-infra writes itself` };
  return {
    conflict: `would override ${setting}, which nats-infra writes from ${option.path}`,
    instead: option.nats.as === "block" ? `configure the ${option.nats.key} section` : `set ${option.path}`,
  };
}

/** Lower-case top-level key → why server.extra may not set it (nats-server reads keys case-insensitively). */
const SETTLED_KEYS: ReadonlyMap<string, Conflict> = new Map([
  ...SERVER_OPTIONS.flatMap((option) => {
    if (option.nats.as === "merged") return [];
    const { key: own, block } = option.nats;
    const keys = [...(block === "top" ? [own] : []), ...(option.alsoSetBy ?? [])];
    return keys.map((key): [string, Conflict] => [key, conflictWithRow(option, own, key)]);
  }),
  ...SETTLED_OUTSIDE_THE_TABLE.flatMap(({ keys, ...conflict }) => keys.map((key): [string, Conflict] => [key, conflict])),
]);

/** Every top-level key server.extra refuses, sorted. */
export function settledKeys(): string[] {
  return [...SETTLED_KEYS.keys()].sort();
}

/** Why `key` may not stand in server.extra (it would override what nats-infra writes), or undefined. */
export function extraKeyProblem(key: string): string | undefined {
  const settled = SETTLED_KEYS.get(key.toLowerCase());
  if (!settled) return undefined;
  return `${settled.conflict}; ${settled.instead ? `${settled.instead} instead and remove` : "remove"} this entry from server.extra`;
}

// ---- the reference, docs/server-options.md ----

export const REFERENCE_FILE = "docs/server-options.md";

const VALUE_KINDS: Record<ValueKind, string> = {
  "server name": "1-63 letters, digits, `_` and `-`, starting with a letter or digit.",
  port: "a TCP port, 1-65535.",
  count: "a whole number, at least 1.",
  size: `${SIZE_HELP}: \`1M\` = \`1MB\` = \`1MiB\` = 1048576 bytes. nats.conf receives the byte count, so nats-server's own reading of suffixes (a bare \`1G\` is 10^9 bytes there) never applies.`,
  duration: `${DURATION_HELP}, passed to nats-server as written.`,
  "duration or always": 'a duration, or `"always"`.',
  boolean: "`true` or `false`.",
  "settings map": "a map of nats.conf setting names to values (see `server.extra`).",
};

function applyText(apply: Apply): string {
  if (apply.by === "reload") return "reload";
  return apply.restartKey === "container spec" ? "restart (container spec)" : "restart";
}

function natsConfText(nats: Rendering): string {
  switch (nats.as) {
    case "merged":
      return "top level, as given";
    case "block":
      return `\`${nats.key} { … }\` present or not`;
    default:
      return `${nats.block === "top" ? `\`${nats.key}\`` : `\`${nats.block} { ${nats.key} }\``}${nats.as === "per target" ? " (per target)" : ""}`;
  }
}

function defaultText(option: ConfiguredOption): string {
  if (option.default === undefined) return "none";
  const written = `\`${option.default}\``;
  return option.value === "size" ? `${written} (${parseSize(option.default as string)} bytes)` : written;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function optionsTable(section: "server" | "jetstream"): string {
  const rows = SERVER_OPTIONS.filter((o): o is ConfiguredOption => o.path !== null && o.path.startsWith(`${section}.`)).map((o) =>
    [`\`${o.path.slice(section.length + 1)}\``, o.value, defaultText(o), natsConfText(o.nats), applyText(o.apply), o.doc].map(cell).join(" | "),
  );
  return ["| field | value | default | nats.conf | a change needs | meaning |", "| --- | --- | --- | --- | --- | --- |", ...rows.map((r) => `| ${r} |`)].join("\n");
}

/** docs/server-options.md, generated from the table (`npm run docs` writes it; a test compares). */
export function renderOptionsReference(): string {
  const derived = SERVER_OPTIONS.filter((o): o is DerivedSetting => o.path === null).map((o) => `| ${cell(natsConfText(o.nats))} | ${cell(o.doc)} |`);
  const kinds = Object.entries(VALUE_KINDS).map(([kind, text]) => `- **${kind}**: ${text}`);
  return `# Server options

<!-- Generated from config/serverOptions.ts by \`npm run docs\`: edit the table there, not this file. -->

The settings under \`nats-infra:server\` and \`nats-infra:jetstream\` in \`Pulumi.<stack>.yaml\`, the
nats.conf setting each becomes, and what a change of it needs on a running server:

- **reload**: \`pulumi up\` rewrites nats.conf and the server reloads it; clients stay connected.
- **restart**: nats-server cannot reload it. The value is hashed into the container label
  \`nats-infra.restart-key\`, so \`pulumi up\` replaces the nats container (the old one stops first,
  in lame duck mode). **restart (container spec)**: the same, because the container's own
  settings (a published port) change.

Values:

${kinds.join("\n")}

## \`server\`

${optionsTable("server")}

## \`jetstream\`

${optionsTable("jetstream")}

## \`server.extra\`

Top-level nats.conf settings nats-infra does not model, for example:

\`\`\`yaml
config:
  nats-infra:server:
    extra:
      max_control_line: 4096
\`\`\`

Each key is a nats.conf setting name (letters, digits and \`_\`, not starting with a digit); each
value is a string, number, boolean, list or map, written to nats.conf as data (strings quoted
and escaped, never pasted as text) after everything nats-infra writes. Values reach nats-server
unconverted: write a size as a byte count (to nats-server the string \`"4KB"\` is a string, not
a size) and a duration as a string such as \`"2s"\`. Settings inside \`jetstream { }\` cannot be
added this way. nats-infra checks each key's form, not that nats-server knows the setting: a
misspelt one (or a value of the wrong type) is refused when \`pulumi up\` validates the new
nats.conf with the image's own \`nats-server -t\`, and the running server keeps its config.

Any change of \`server.extra\` is a restart: nats-infra cannot know which of these settings the
server reloads. A stack without \`server.extra\` keeps the restart key it had before the option
existed.

A key that would override what nats-infra writes (in any letter case, as nats-server reads
keys) is refused, with the setting to use instead: ${settledKeys().map((k) => `\`${k}\``).join(", ")}.

## Written by nats-infra

| nats.conf | meaning |
| --- | --- |
${derived.join("\n")}
| \`tls { … }\` | from the \`tls\` section, with the certificate paths of the render target |
| \`include "auth.conf"\` | accounts, users and permissions, from \`services\` and \`accounts\` |
`;
}
