// The observer: a generated, read-only user in the system account for what operators run by hand
// and from Nagios-style monitors, natscli's `nats server list`, `nats server report ...` and
// `nats server check connection|server|meta|jetstream|stream|consumer`, and the user nats-box
// connects as. It may make exactly the requests those commands make (read from natscli 0.5.0 and
// jsm.go 0.5.0, and seen in the server's trace) and nothing that changes state: no reload, kick,
// lame duck or profile request, no JetStream create, update, delete or purge, no publish outside
// its own inbox.
//
// JetStream is per account and cannot be enabled on the system account, so the account-scoped
// checks (jetstream, stream, consumer) reach each JetStream account through its read-only API:
// the account exports those subjects to the system account alone, which imports them under
// `jsapi.<ACCOUNT>` (natscli `--js-api-prefix jsapi.<ACCOUNT>`).
import { SYSTEM_ACCOUNT, type StackConfig } from "./schema";

export const OBSERVER_USER = "_observer";
export const OBSERVER_ACCOUNT = SYSTEM_ACCOUNT;

/**
 * Its private inbox prefix (natscli `--inbox-prefix`, a context's `inbox_prefix`). Replies reach
 * it there and nowhere else, and `check connection`, which publishes a message to its own inbox,
 * may publish only there: no reply of another system-account client (Surveyor's) can be forged.
 */
export const OBSERVER_INBOX_PREFIX = "_INBOX_observer";

/** Where the system account sees one account's read-only JetStream API. */
export const observerJsApiPrefix = (account: string) => `jsapi.${account}`;

/**
 * The JetStream API requests, after `$JS.API.`, exported by each JetStream account to the system
 * account. `check jetstream`: INFO and STREAM.LIST (its replica check lists every stream);
 * `check stream`: STREAM.INFO.<stream>; `check consumer`: CONSUMER.INFO.<stream>.<consumer>.
 * STREAM.NAMES, CONSUMER.LIST and CONSUMER.NAMES keep `nats stream ls` and `nats consumer ls`
 * working in nats-box, as they did for the `_tools` user it used before. All are read-only.
 */
export const OBSERVER_JS_API = ["INFO", "STREAM.LIST", "STREAM.NAMES", "STREAM.INFO.*", "CONSUMER.LIST.*", "CONSUMER.NAMES.*", "CONSUMER.INFO.*.*"] as const;

/**
 * The system-account requests, each answered by every server with a read-only report.
 * `$SYS.REQ.SERVER.PING` (STATSZ): server list, report cpu|mem, and the server count report
 * accounts|connections|downgrade ask first; VARZ: check server; JSZ: check meta, report jetstream
 * and downgrade; `$SYS.REQ.SERVER.*.JSZ`: report jetstream's follow-up to one server when an
 * answer is a full page (1024 accounts, jsm.go serverdata/live.go); CONNZ: report accounts and
 * connections; HEALTHZ, ROUTEZ, GATEWAYZ, LEAFZ: report health, routes, gateways, leafnodes.
 * Nothing else under `$SYS.REQ.SERVER.`: RELOAD, KICK, LDM and PROFILEZ act on a server.
 */
export const OBSERVER_SERVER_REQUESTS = [
  "$SYS.REQ.SERVER.PING",
  "$SYS.REQ.SERVER.PING.VARZ",
  "$SYS.REQ.SERVER.PING.JSZ",
  "$SYS.REQ.SERVER.*.JSZ",
  "$SYS.REQ.SERVER.PING.CONNZ",
  "$SYS.REQ.SERVER.PING.HEALTHZ",
  "$SYS.REQ.SERVER.PING.ROUTEZ",
  "$SYS.REQ.SERVER.PING.GATEWAYZ",
  "$SYS.REQ.SERVER.PING.LEAFZ",
] as const;

/** The accounts whose JetStream the observer sees: those with JetStream on. */
export function observedAccounts(config: StackConfig): string[] {
  if (!config.jetstream.enabled) return [];
  return config.accounts.filter((a) => a.jetstream !== false).map((a) => a.name);
}

/** One account's read-only JetStream API as the system account imports it. */
export interface ObserverImport {
  account: string;
  /** The subject in the exporting account. */
  subject: string;
  /** The same subject as the system account sees it. */
  to: string;
}

export function observerImports(config: StackConfig): ObserverImport[] {
  return observedAccounts(config).flatMap((account) =>
    OBSERVER_JS_API.map((rest) => ({ account, subject: `$JS.API.${rest}`, to: `${observerJsApiPrefix(account)}.${rest}` })),
  );
}

/** Publish allows: the server requests, every imported JetStream request (any account), its own inbox. */
export function observerPublish(config: StackConfig): string[] {
  const jetstream = observedAccounts(config).length ? OBSERVER_JS_API.map((rest) => `${observerJsApiPrefix("*")}.${rest}`) : [];
  return [...OBSERVER_SERVER_REQUESTS, ...jetstream, `${OBSERVER_INBOX_PREFIX}.>`];
}

/**
 * A natscli context (the JSON file NATS_CONTEXT names) for the observer: the one nats-box gets.
 * It carries the inbox prefix, and the default account's JetStream API (when it has JetStream)
 * as the one `nats server check stream` and `nats stream ls` read; another account's with
 * `--js-api-prefix jsapi.<ACCOUNT>`.
 */
export function observerContext(config: StackConfig, url: string, password: string): Record<string, string> {
  const context: Record<string, string> = { url, user: OBSERVER_USER, password, inbox_prefix: OBSERVER_INBOX_PREFIX };
  const defaultAccount = config.accounts[0].name;
  if (observedAccounts(config).includes(defaultAccount)) context.jetstream_api_prefix = observerJsApiPrefix(defaultAccount);
  return context;
}
