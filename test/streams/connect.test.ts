// Which login the reconciler takes from its environment, without a server: above all the inbox
// prefix its JetStream calls are answered under (the server: reconcile.server.test.ts).
import { describe, expect, test } from "vitest";
import { credentialsFor, inboxPrefixFor } from "../../streams/connect";

describe("the inbox prefix", () => {
  test("nats-infra's own users have their private one; anyone else the clients' default", () => {
    expect(credentialsFor("APP", { NATS_PASSWORD: "pw" })).toEqual({ user: "_jsadmin_APP", password: "pw", inboxPrefix: "_INBOX__jsadmin_APP" });
    expect(credentialsFor("APP", { NATS_USER: "producer", NATS_PASSWORD: "pw" }).inboxPrefix).toBe("_INBOX");
    expect(inboxPrefixFor("_jsadmin_MY-ACC")).toBe("_INBOX__jsadmin_MY-ACC");
  });

  test("the stack config's prefix for the user comes before that default", () => {
    const known = (user: string) => ({ producer: "_INBOX_producer" })[user];
    expect(credentialsFor("APP", { NATS_USER: "producer", NATS_PASSWORD: "pw" }, known).inboxPrefix).toBe("_INBOX_producer");
    expect(credentialsFor("APP", { NATS_PASSWORD: "pw" }, known).inboxPrefix).toBe("_INBOX__jsadmin_APP");
  });

  test("NATS_INBOX_PREFIX_<ACCOUNT>, then NATS_INBOX_PREFIX, override both ('-' in the account name is '_' in the variable)", () => {
    const known = () => "_INBOX_from_config";
    const env = { NATS_PASSWORD: "pw", NATS_INBOX_PREFIX: "_INBOX_any", NATS_INBOX_PREFIX_MY_ACC: "_INBOX" };
    expect(credentialsFor("MY-ACC", env, known).inboxPrefix).toBe("_INBOX");
    expect(credentialsFor("OTHER", env, known).inboxPrefix).toBe("_INBOX_any");
    expect(credentialsFor("OTHER", { ...env, NATS_INBOX_PREFIX: "" }, known).inboxPrefix).toBe("_INBOX_from_config");
  });
});
