// What an application needs to connect as one user: the shape of credentials.json (render
// command, dev server) and of the deployed stack's `credentials` output.

export interface Credential {
  user: string;
  password: string;
  account: string;
  /** Every server's client URL, comma-separated (NATS clients take the list as it is). */
  url: string;
  /**
   * The inbox prefix to connect with (config/inboxes.ts): nats.js `inboxPrefix`, nats.go
   * `nats.CustomInboxPrefix`, nats-py `inbox_prefix`, natscli `--inbox-prefix`. `_INBOX` is the
   * clients' own default; any other is the user's private one, where its replies arrive.
   */
  inboxPrefix: string;
}
