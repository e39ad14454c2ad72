// Where each user's replies arrive. A request carries a reply subject under the requester's inbox
// prefix; whoever may subscribe to that subject reads the reply. With the shared prefix every
// requester of an account is granted `_INBOX.>`, so each reads the replies of all the others
// (KV gets and object reads included: they are requests too). A private prefix is granted to
// its one user alone, and the clients are told to use it (nats.js `inboxPrefix`, nats.go
// `nats.CustomInboxPrefix`, nats-py `inbox_prefix`, natscli `--inbox-prefix`).
import type { InboxMode, ServiceConfig, StackConfig } from "./schema";

/** The prefix NATS clients use unless told otherwise: replies arrive on `_INBOX.<id>.<n>`. */
export const SHARED_INBOX_PREFIX = "_INBOX";
/** Where replies to requests arrive under the shared prefix. */
export const INBOX_WILDCARD = `${SHARED_INBOX_PREFIX}.>`;

/**
 * A user's own prefix: `_INBOX_` and its name. Service names are lowercase letters, digits and
 * dashes starting with a letter, internal users start with "_", and user names are unique, so
 * every prefix is one valid subject token, unique, and never equal to `_INBOX` or to another's.
 */
export const privateInboxPrefix = (user: string) => `${SHARED_INBOX_PREFIX}_${user}`;

/** The subjects under a prefix: what its user subscribes to. */
export const inboxSubjects = (prefix: string) => `${prefix}.>`;

/** True for the reply inbox a user is granted: `_INBOX.>` or a private `_INBOX_<name>.>`. */
export function isInboxGrant(subject: string): boolean {
  const [first, ...rest] = subject.split(".");
  return rest.length === 1 && rest[0] === ">" && (first === SHARED_INBOX_PREFIX || first.startsWith(`${SHARED_INBOX_PREFIX}_`));
}

/** The service's own setting, else the stack's. */
export function serviceInboxMode(config: StackConfig, service: ServiceConfig): InboxMode {
  return service.inbox ?? config.inboxes;
}

/** The prefix a service's clients connect with: its own unless the service is still shared. */
export function serviceInboxPrefix(config: StackConfig, service: ServiceConfig): string {
  return serviceInboxMode(config, service) === "shared" ? SHARED_INBOX_PREFIX : privateInboxPrefix(service.name);
}

/** The reply subjects granted to a service that makes requests, by its inbox mode. */
export function serviceInboxGrants(config: StackConfig, service: ServiceConfig): string[] {
  const own = inboxSubjects(privateInboxPrefix(service.name));
  switch (serviceInboxMode(config, service)) {
    case "shared":
      return [INBOX_WILDCARD];
    case "both":
      return [INBOX_WILDCARD, own];
    case "private":
      return [own];
  }
}
