// Connects as an account's JetStream admin user. Credentials come from the environment only (a
// command line is visible to every process on the host and lands in Pulumi's error output), and
// the connection is checked to be in the intended account before anything is read or changed.
import { privateInboxPrefix, SHARED_INBOX_PREFIX } from "../config/inboxes";
import { createInbox } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { envNamePart } from "../config/primitives";
import { jetstreamAdminUser } from "../config/users";

export type NatsConnection = Awaited<ReturnType<typeof connect>>;

export interface AdminCredentials {
  user: string;
  password: string;
  /**
   * Where the user's replies arrive (config/inboxes.ts). Every JetStream call is a request, so
   * with a prefix the server does not grant this user, the client's reply subscription is
   * refused and every call fails with a permissions violation. Default: inboxPrefixFor(user).
   */
  inboxPrefix?: string;
}

/** Environment names for an account's credentials: account names may hold '-', env names not. */
export const accountEnvSuffix = envNamePart;

/**
 * NATS_USER_<ACCOUNT> / NATS_PASSWORD_<ACCOUNT> first, then NATS_USER / NATS_PASSWORD; the user
 * defaults to the account's JetStream admin user. The inbox prefix: NATS_INBOX_PREFIX_<ACCOUNT>,
 * then NATS_INBOX_PREFIX, then what `knownPrefix` says for the user (the stack config's), then
 * inboxPrefixFor(user).
 */
export function credentialsFor(account: string, env: NodeJS.ProcessEnv, knownPrefix?: (user: string) => string | undefined): AdminCredentials {
  const suffix = accountEnvSuffix(account);
  const user = env[`NATS_USER_${suffix}`] || env.NATS_USER || jetstreamAdminUser(account);
  const password = env[`NATS_PASSWORD_${suffix}`] ?? env.NATS_PASSWORD;
  if (!password) {
    throw new CredentialsError(
      `no password for account ${account}: set NATS_PASSWORD (or NATS_PASSWORD_${suffix} when several accounts have streams) to the password of ${user}. ` +
        `After \`npm run render\`, credentials.json holds it; a Pulumi stack exports it as a secret output.`,
    );
  }
  // An override first: a stack deployed before private inboxes still grants its admins `_INBOX.>`
  // only, and a service's prefix comes with its credentials.
  const inboxPrefix = env[`NATS_INBOX_PREFIX_${suffix}`] || env.NATS_INBOX_PREFIX || knownPrefix?.(user) || inboxPrefixFor(user);
  return { user, password, inboxPrefix };
}

/**
 * The prefix of a user whose credentials name none: nats-infra's own users (names starting with
 * "_") have a private one whatever the stack's `inboxes` says (config/users.ts; Surveyor, the one
 * exception, never connects through here); anyone else the clients' default.
 */
export function inboxPrefixFor(user: string): string {
  return user.startsWith("_") ? privateInboxPrefix(user) : SHARED_INBOX_PREFIX;
}

export class CredentialsError extends Error {}

/**
 * The servers of `--url` / NATS_URL: one client URL, or every node's, comma-separated (what
 * credentials hand out for a cluster). Each must be a URL without credentials in it.
 */
export function serverList(urls: string): string[] {
  const servers = urls.split(",").map((url) => url.trim()).filter((url) => url !== "");
  if (servers.length === 0) throw new CredentialsError("--url names no server; use nats://host:port, or every node's URL comma-separated");
  servers.forEach(checkUrl);
  return servers;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CredentialsError(`--url ${JSON.stringify(url)} is not a URL; use nats://host:port (several: comma-separated)`);
  }
  if (parsed.username || parsed.password) {
    throw new CredentialsError("the URL holds credentials; pass them in NATS_USER and NATS_PASSWORD instead, so they stay off command lines and logs");
  }
}

/**
 * Connects to the first server of the list that answers, in the order given: with every node's
 * URL, the run works while any one node is down.
 */
export async function connectAdmin(urls: string, account: string, credentials: AdminCredentials): Promise<NatsConnection> {
  const servers = serverList(urls);
  const inboxPrefix = credentials.inboxPrefix ?? inboxPrefixFor(credentials.user);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      noRandomize: true,
      user: credentials.user,
      pass: credentials.password,
      inboxPrefix,
      name: `nats-infra streams (${account})`,
      reconnect: false,
      timeout: 10_000,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const where = servers.length === 1 ? servers[0] : `any of ${servers.join(", ")}`;
    throw new CredentialsError(`cannot connect to ${where} as ${credentials.user}: ${reason}`);
  }
  // The server names the connection's account in its INFO; a user of another account would make
  // the streams there, where they would seem to vanish (nats-server #3722). The server sends that
  // INFO right after the PONG that completes connect(), so a busy machine can resolve connect()
  // before it is read; one more round trip (flush) comes back only after it. The same round trip
  // tells whether the server lets this user subscribe under its prefix: otherwise every call
  // would fail with a permissions violation naming a random inbox, and nothing would say why.
  const inbox = inboxCheck(nc, inboxPrefix);
  await nc.flush();
  const remote = (nc.info as { remote_account?: string } | undefined)?.remote_account;
  if (remote !== undefined && remote !== account) {
    await nc.close();
    throw new CredentialsError(
      `${credentials.user} belongs to account ${remote}, not ${account}; set NATS_USER_${accountEnvSuffix(account)} and NATS_PASSWORD_${accountEnvSuffix(account)} for account ${account}`,
    );
  }
  const refused = inbox.done();
  if (refused) {
    await nc.close();
    throw new CredentialsError(
      `the server does not let ${credentials.user} subscribe to ${inboxPrefix}.>, where its replies arrive (${refused.message}), so no JetStream call would be answered. ` +
        inboxHint(credentials.user, inboxPrefix, `NATS_INBOX_PREFIX_${accountEnvSuffix(account)}`),
    );
  }
  return nc;
}

/** What to do when the server refuses the prefix: the two ways a prefix and a deployment can disagree. */
function inboxHint(user: string, inboxPrefix: string, variable: string): string {
  const setting = `(${variable} for npm run streams; docs/streams.md, "Running it by hand")`;
  if (inboxPrefix === SHARED_INBOX_PREFIX) {
    return (
      `A stack deployed with private inboxes gives ${user} a prefix of its own, ${inboxPrefixFor(user)} for nats-infra's users: connect with it ${setting}, ` +
      `or for backup and restore with credentials that carry inboxPrefix (the jetstreamAdmins output, credentials.json).`
    );
  }
  return `A stack deployed before private inboxes grants it _INBOX.> only: deploy it (npm run up), or connect with that prefix ${setting.replace(variable, `${variable}=_INBOX`)}.`;
}

/**
 * Subscribes to one subject under the prefix, as a request's reply subscription does. The server
 * answers a refused subscription before the PONG of the next flush; done() reads that answer and
 * removes the subscription.
 */
function inboxCheck(nc: NatsConnection, inboxPrefix: string): { done(): Error | undefined } {
  let refused: Error | undefined;
  const sub = nc.subscribe(createInbox(inboxPrefix), { callback: (error: Error | null) => void (refused ??= error ?? undefined) });
  return {
    done() {
      if (!sub.isClosed()) sub.unsubscribe();
      return refused;
    },
  };
}
