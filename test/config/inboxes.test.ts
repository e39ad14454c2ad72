// Where each user's replies arrive, as the config layer grants them (config/inboxes.ts,
// config/users.ts): a stack file without `inboxes` keeps the shared grants it always had; a
// private inbox is granted to its one user, and every other user whose allows reach into it is
// denied it. The real server's view of these grants is proven in test/inboxes/.
import { describe, expect, test } from "vitest";
import { parseStackConfig, StackConfigError, type ConfigProblem } from "../../config/load";
import { natsUsers, type NatsUser } from "../../config/users";
import { permissionsSummary } from "../../render/permissionsSummary";
import { isInboxGrant } from "../../config/inboxes";

const services = [
  { name: "orders", publish: ["orders.>"], subscribe: ["orders.>"] },
  { name: "billing", publish: ["billing.>"], subscribe: ["billing.>"] },
  // A debugging tap: allowed everything, so it reaches into every inbox of the account.
  { name: "tap", subscribe: [">"], publish: [">"] },
];
const stack = (extra: Record<string, unknown> = {}, list: unknown[] = services) => parseStackConfig({ services: list, ...extra }).config;
const user = (users: readonly NatsUser[], name: string) => users.find((u) => u.user === name)!;

describe("inbox grants", () => {
  test("a stack file without inboxes keeps today's grants: _INBOX.> for every requester, the client default prefix, no deny", () => {
    const users = natsUsers(stack());
    for (const name of ["orders", "billing"]) {
      expect(user(users, name).inboxPrefix).toBe("_INBOX");
      expect(user(users, name).permissions.subscribe).toEqual({ allow: [`${name}.>`, "_INBOX.>"] });
    }
    // The tap's `>` reaches only into the internal users' private inboxes, which it may not read.
    expect(user(users, "tap").permissions.subscribe.deny).toEqual(["_INBOX__tools.>", "_INBOX__jsadmin_APP.>"]);
    // The permission entries a preview shows carry no inbox field for shared services.
    const entry = JSON.parse(permissionsSummary(stack()).NATS_PERMISSIONS_ORDERS);
    expect(entry).not.toHaveProperty("inboxPrefix");
    expect(entry).not.toHaveProperty("inboxDenies");
  });

  test("inboxes: private: each service its own prefix, granted to it alone", () => {
    const users = natsUsers(stack({ inboxes: "private" }, services.filter((s) => s.name !== "tap")));
    expect(user(users, "orders").inboxPrefix).toBe("_INBOX_orders");
    expect(user(users, "orders").permissions.subscribe).toEqual({ allow: ["orders.>", "_INBOX_orders.>"] });
    expect(user(users, "billing").permissions.subscribe).toEqual({ allow: ["billing.>", "_INBOX_billing.>"] });
    expect(JSON.parse(permissionsSummary(stack({ inboxes: "private" }, services.filter((s) => s.name !== "tap"))).NATS_PERMISSIONS_ORDERS)).toMatchObject({ inboxPrefix: "_INBOX_orders" });
  });

  test("a lone private service allowed `>` is denied the internal users' inboxes and _INBOX.> (no service inbox to reach); publish stays as allowed", () => {
    const tap = user(natsUsers(stack({ inboxes: "private" }, [services[2]])), "tap");
    expect(tap.permissions.subscribe).toEqual({ allow: [">", "_INBOX_tap.>"], deny: ["_INBOX__tools.>", "_INBOX__jsadmin_APP.>", "_INBOX.>"] });
    // A publish deny would stop it answering requests (test/inboxes/denyAndRespond.server.test.ts).
    expect(tap.permissions.publish).toEqual({ allow: [">"] });
    expect(JSON.parse(permissionsSummary(stack({ inboxes: "private" }, [services[2]])).NATS_PERMISSIONS_TAP)).toMatchObject({ inboxPrefix: "_INBOX_tap", inboxDenies: ["_INBOX__tools.>", "_INBOX__jsadmin_APP.>", "_INBOX.>"] });
  });

  test("inbox: both on one service while its clients move: _INBOX.> and its own prefix", () => {
    const list = [...services.filter((s) => s.name !== "tap"), { name: "mover", subscribe: ["moves.>"], inbox: "both" }];
    const mover = user(natsUsers(stack({ inboxes: "private" }, list)), "mover");
    expect(mover.inboxPrefix).toBe("_INBOX_mover");
    expect(mover.permissions.subscribe).toEqual({ allow: ["moves.>", "_INBOX.>", "_INBOX_mover.>"] });
  });

  test("inbox: shared on one service of a private stack: that one keeps _INBOX.> and the client default prefix", () => {
    const list = services.filter((s) => s.name !== "tap").map((s) => (s.name === "orders" ? { ...s, inbox: "shared" } : s));
    const orders = user(natsUsers(stack({ inboxes: "private" }, list)), "orders");
    expect(orders.inboxPrefix).toBe("_INBOX");
    expect(orders.permissions.subscribe).toEqual({ allow: ["orders.>", "_INBOX.>"] });
  });

  test("a service that makes no requests is granted no inbox in any mode", () => {
    const users = natsUsers(stack({ inboxes: "private" }, [{ name: "sink", subscribe: ["logs.>"], requests: false }]));
    expect(user(users, "sink").permissions.subscribe).toEqual({ allow: ["logs.>"] });
  });

  test("internal users: each its own prefix, except Surveyor (no prefix setting), alone on _INBOX.> in the system account", () => {
    const users = natsUsers(stack({ inboxes: "private", accounts: [{ name: "APP" }, { name: "OPS" }] }, [{ name: "orders", subscribe: ["orders.>"] }]));
    const prefixes = Object.fromEntries(users.map((u) => [u.user, u.inboxPrefix]));
    expect(prefixes).toEqual({
      orders: "_INBOX_orders",
      _surveyor: "_INBOX",
      _tools: "_INBOX__tools",
      _jsadmin_APP: "_INBOX__jsadmin_APP",
      _jsadmin_OPS: "_INBOX__jsadmin_OPS",
      _observer: "_INBOX_observer",
    });
    // No two users of one account share a private prefix, and only Surveyor may subscribe to _INBOX.> in SYS.
    const sys = users.filter((u) => u.account === "SYS");
    expect(sys.filter((u) => (u.permissions.subscribe.allow ?? []).some((s) => s === "_INBOX.>")).map((u) => u.user)).toEqual(["_surveyor"]);
    for (const u of users) expect((u.permissions.subscribe.allow ?? []).filter(isInboxGrant)).toEqual(u.inboxPrefix === "_INBOX" ? ["_INBOX.>"] : [`${u.inboxPrefix}.>`]);
  });
});

describe("inbox subjects a person may not list", () => {
  const problemsOf = (list: unknown[], extra: Record<string, unknown> = {}): ConfigProblem[] => {
    try {
      parseStackConfig({ services: list, ...extra });
    } catch (error) {
      if (error instanceof StackConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  test("another user's private inbox, to read or to publish into, is refused at its path", () => {
    const problems = problemsOf([{ name: "orders" }, { name: "spy", subscribe: ["_INBOX_orders.>"], publish: ["_INBOX__jsadmin_APP.x"] }], { inboxes: "private" });
    expect(problems.map((p) => p.path)).toEqual(["nats-infra:services[1].publish[0]", "nats-infra:services[1].subscribe[0]"]);
    expect(problems[1].value).toBe(JSON.stringify("_INBOX_orders.>"));
    expect(problems[1].message).toContain("private inboxes, each granted to its one user by nats-infra; remove this entry");
  });

  test("its own prefix is refused as redundant, and _INBOX.> on a private service says why and what to do", () => {
    const problems = problemsOf([{ name: "orders", subscribe: ["_INBOX_orders.>", "_INBOX.>"] }], { inboxes: "private" });
    expect(problems.map((p) => p.message)).toEqual([
      "_INBOX_orders is this service's own inbox, which requests: true already grants; remove this entry",
      expect.stringContaining("reads the replies of every service on the shared inbox, but this service has a private one (_INBOX_orders.>"),
    ]);
    // On a shared stack an explicit _INBOX.> is what requests: true grants anyway: no problem.
    expect(problemsOf([{ name: "orders", subscribe: ["_INBOX.>"] }])).toEqual([]);
  });

  test("a wildcard that reaches into another service's private inbox is refused, naming whose; a shared stack keeps it", () => {
    const problems = problemsOf(services, { inboxes: "private" });
    expect(problems.map((p) => p.path)).toEqual(["nats-infra:services[2].subscribe[0]"]);
    expect(problems[0].message).toBe(
      '">" reaches into the private inbox of orders, billing, where nats-server delivers their JetStream reads (KV history, object contents, consumer batches) ' +
        'under the stream\'s own subjects, past any deny; list the subjects this service needs (such as "orders.>") instead of a wildcard first token',
    );
    expect(problemsOf([...services.slice(0, 2), { name: "tap", subscribe: ["*.>"] }], { inboxes: "private" }).map((p) => p.path)).toEqual(["nats-infra:services[2].subscribe[0]"]);
    // "*.created" matches no subject a client makes under a prefix (random tokens follow it).
    expect(problemsOf([...services.slice(0, 2), { name: "tap", subscribe: ["*.created"] }], { inboxes: "private" })).toEqual([]);
    // Only the services that opted in are protected this way; a shared stack keeps its tap.
    expect(problemsOf(services)).toEqual([]);
    expect(problemsOf(services.map((s) => (s.name === "orders" ? { ...s, inbox: "private" } : s))).map((p) => p.message)).toEqual([expect.stringContaining("the private inbox of orders,")]);
  });

  test("an unknown inbox mode names the three there are", () => {
    const [problem] = problemsOf([{ name: "orders", inbox: "privat" }]);
    expect(problem.path).toBe("nats-infra:services[0].inbox");
    expect(problem.message).toContain('one of "private"');
  });
});
