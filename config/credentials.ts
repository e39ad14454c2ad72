// What an application needs to connect as one user: the shape of credentials.json (render
// command, dev server) and of the deployed stack's `credentials` output.

export interface Credential {
  user: string;
  password: string;
  account: string;
  /** Every server's client URL, comma-separated (NATS clients take the list as it is). */
  url: string;
}
