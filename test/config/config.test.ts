// The config layer on its own: defaults, units, subject syntax, and the errors a person sees for
// bad stack config (every problem at once, each with its `pulumi config set --path` path, the
// value found and what is allowed). Pure functions: no server, no Pulumi.
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { problemAt, problemsOf } from "../harness/configProblems";
import { subjectCovers, subjectProblem, subjectsOverlap } from "../../config/subjects";
import { parseDuration, parseSize } from "../../config/units";
import { DEV_STACK_FIXTURE, REPO_ROOT } from "../harness/tools";

const MB = 1024 ** 2;
const GB = 1024 ** 3;


const minimal = { services: [{ name: "svc" }] };

describe("defaults", () => {
  // The seed (the compose setup this project replaces) ran with these values; a stack that says
  // nothing must get the same server.
  test("a stack with one service gets the seed's settings", () => {
    const { config, warnings } = parseStackConfig(minimal);
    expect(warnings).toEqual([]);
    expect(config.server).toMatchObject({
      clientPort: 4222,
      monitorPort: 8222,
      maxConnections: 10000,
      maxPayload: 1048576,
      pingInterval: "20s",
    });
    expect(config.jetstream).toEqual({ enabled: true, maxMemoryStore: 1 * GB, maxFileStore: 50 * GB, syncInterval: "1s" });
    expect(config.docker.nats).toMatchObject({ cpus: 2, memory: 2 * GB });
    expect(config.docker.surveyor).toMatchObject({ enabled: true, port: 7777 });
    expect(config.docker.natsBox.enabled).toBe(false);
    expect(config.accounts.map((a) => a.name)).toEqual(["APP"]);
    expect(config.services[0]).toEqual({ name: "svc", account: "APP", publish: [], subscribe: [], requests: true, responses: true });
  });

  test("the dev stack file spells out the same values", () => {
    const { config, warnings } = parseStackConfig(readStackFile(DEV_STACK_FIXTURE));
    expect(warnings).toEqual([]);
    expect(config.services.map((s) => s.name)).toEqual(["teacher-service", "user-service", "notification-service"]);
    expect(config.server).toMatchObject({ maxConnections: 10000, maxPayload: 1 * MB, pingInterval: "20s", clientPort: 4222, monitorPort: 8222 });
    expect(config.jetstream).toMatchObject({ maxMemoryStore: 1 * GB, maxFileStore: 50 * GB, syncInterval: "1s" });
    expect(config.streams.map((s) => [s.name, s.subjects])).toEqual([["EVENTS", ["events.*"]]]);
  });

  test("the committed Pulumi.dev.yaml, whatever a user added to it, is a valid stack without warnings", () => {
    // The one test that reads the user's dev stack; every other test reads the fixture copy.
    const { config, warnings } = parseStackConfig(readStackFile(path.join(REPO_ROOT, "Pulumi.dev.yaml")));
    expect(warnings).toEqual([]);
    expect(config.services.length).toBeGreaterThan(0);
  });
});

describe("sizes", () => {
  test.each([
    ["1MB", 1 * MB],
    ["1mb", 1 * MB],
    ["2G", 2 * GB],
    ["50GB", 50 * GB],
    ["512KiB", 512 * 1024],
    ["1.5KB", 1536],
    [" 64 MB ", 64 * MB],
    ["100", 100],
    ["1TB", 1024 ** 4],
    [0, 0],
    [1048576, 1048576],
  ])("%j is %d bytes", (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  test.each([["1XB"], ["MB"], [""], ["1e3"], ["-1MB"], ["1 M B"], ["ten"], [-1], [1.5], [Number.NaN], ["9999999999TB"]])("%j is not a size", (input) => {
    expect(parseSize(input)).toBeUndefined();
  });
});

describe("durations", () => {
  test.each([
    ["20s", 20_000],
    ["500ms", 500],
    ["2m", 120_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    ["0s", 0],
  ])("%s is %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([["20"], ["20 s"], ["20 seconds"], ["-1s"], ["1d"], [""], ["s"], ["1s "], ["1.s"]])("%j is not a duration", (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe("subjects", () => {
  test.each([["orders.created"], ["orders.*"], ["orders.>"], [">"], ["*"], ["*.*.>"], ["$JS.API.STREAM.INFO.EVENTS"], ["_INBOX.>"], ["a-b_c.D9"]])(
    "%s is valid",
    (subject) => {
      expect(subjectProblem(subject)).toBeUndefined();
    },
  );

  test.each([
    ["", "empty"],
    ["orders..created", "empty token"],
    [".orders", "empty token"],
    ["orders.", "empty token"],
    ["orders created", "whitespace"],
    ["orders.\tcreated", "whitespace"],
    ["orders\u0000x", "control character"],
    ["orders*", '"*" must be a whole token'],
    ["orders.cre*", '"*" must be a whole token'],
    ["orders.>x", '">" must be a whole token'],
    ["x>.y", '">" must be a whole token'],
    ["orders.>.created", '">" may only be the last token'],
    ["a".repeat(513), "512"],
  ])("%j is refused (%s)", (subject, reason) => {
    expect(subjectProblem(subject)).toContain(reason);
  });

  // Could one message subject be captured by both patterns?
  test.each([
    ["orders.created", "orders.created", true],
    ["orders.created", "orders.deleted", false],
    ["orders.*", "orders.created", true],
    ["orders.*", "*.created", true],
    ["orders.*", "orders.>", true],
    ["orders.>", "orders", false],
    ["orders.*", "orders", false],
    ["orders", "orders.created", false],
    [">", "orders", true],
    [">", "a.b.c", true],
    ["*", "a.b", false],
    ["*.>", "a", false],
    ["a.*.c", "a.b.*", true],
    ["a.*.c", "a.b.d", false],
    ["events.*", "events.a.b", false],
    ["events.>", "events.a.b", true],
  ])("overlap(%s, %s) is %s, both ways round", (a, b, expected) => {
    expect(subjectsOverlap(a, b)).toBe(expected);
    expect(subjectsOverlap(b, a)).toBe(expected);
  });

  // Is every subject the inner pattern matches also matched by the outer one?
  test.each([
    [">", "orders", true],
    [">", ">", true],
    [">", "a.*.>", true],
    ["orders.>", "orders.created", true],
    ["orders.>", "orders.*", true],
    ["orders.>", "orders.a.>", true],
    ["orders.>", "orders", false],
    ["orders.>", ">", false],
    ["orders.*", "orders.created", true],
    ["orders.*", "orders.*", true],
    ["orders.*", "orders.>", false],
    ["orders.*", "orders.a.b", false],
    ["orders.created", "orders.*", false],
    ["orders.created", "orders.created", true],
    ["orders.created", "orders", false],
    ["orders", "orders.created", false],
    ["*", "*.x", false],
    ["*.>", ">", false],
    ["*.x", "a.x", true],
  ])("covers(%s, %s) is %s", (outer, inner, expected) => {
    expect(subjectCovers(outer, inner)).toBe(expected);
  });
});

describe("bad stack config", () => {
  // One config with a bit of everything wrong: schema problems (wrong shapes, typos, syntax) and
  // cross-field problems (references, limits) must come back together in one error.
  const everythingWrong = {
    services: [
      { name: "Billing_Service", publish: ["billing.>"] },
      { name: "orders", publish: ["orders.>", "orders..created"] },
      { name: "orders", account: "SHOP", subscribe: ["orders.*"] },
      { name: "audit", subscrbe: ["audit.>"] },
    ],
    accounts: [
      { name: "APP", imports: [{ service: "billing.charge", account: "BILLING" }] },
      { name: "BILLING", exports: [{ stream: "billing.events.>" }] },
    ],
    jetstream: { maxFileStore: "10GB" },
    server: { maxPayload: "100MB", lameDuckDuration: "30s", lameDuckGracePeriod: "30s", pingInterval: "20 seconds" },
    sever: { name: "typo" },
    docker: { nats: { memory: "2 gigs" } },
    streams: [
      { name: "ORDERS", subjects: ["orders.*"], replicas: 3, maxBytes: "20GB" },
      { name: "ORDERS_ALL", subjects: ["orders.>"], consumers: [{ name: "mailer", type: "push" }] },
    ],
  };

  // path -> [value as reported, parts of the message that say what is wrong and what is allowed]
  const expected: Record<string, [string, string[]]> = {
    "nats-infra:services[0].name": ['"Billing_Service"', ["lowercase letters, digits and dashes"]],
    "nats-infra:services[1].publish[1]": ['"orders..created"', ["not a valid subject", "empty token", "dot-separated tokens"]],
    "nats-infra:services[3].subscrbe": ['["audit.>"]', ["not a setting", 'did you mean "subscribe"', "allowed here: name, account, publish, subscribe"]],
    "nats-infra:sever": ['{"name":"typo"}', ['did you mean "server"', "allowed here: services, accounts"]],
    "nats-infra:docker.nats.memory": ['"2 gigs"', ["not a size", '"1MB"']],
    "nats-infra:server.pingInterval": ['"20 seconds"', ["not a duration", '"20s"']],
    "nats-infra:services[2].name": ['"orders"', ["declared twice", "must be unique"]],
    "nats-infra:services[2].account": ['"SHOP"', ["no such account", "declared accounts: APP, BILLING"]],
    "nats-infra:accounts[0].imports[0].service": ['"billing.charge"', ["account BILLING exports no service", "add an export"]],
    "nats-infra:server.maxPayload": ['"100MB"', ["at most 64MB", "67108864"]],
    "nats-infra:server.lameDuckGracePeriod": ['"30s"', ["shorter than lameDuckDuration (30s)"]],
    "nats-infra:streams[0].replicas": ["3", ["must not exceed the number of servers (cluster.nodes: 1)"]],
    "nats-infra:streams[0].maxBytes": ['"20GB"', ["jetstream.maxFileStore", `${10 * GB} bytes`, "lower it or raise the limit"]],
    "nats-infra:streams[1].subjects[0]": ['"orders.>"', ['overlaps "orders.*" of stream ORDERS', "one stream only"]],
    "nats-infra:streams[1].consumers[0].deliverSubject": ["(missing)", ["push consumer needs a deliverSubject"]],
  };

  test("every problem is reported at once, each with its path, the value and what is allowed", () => {
    const problems = problemsOf(everythingWrong);
    expect(problems.map((p) => p.path).sort()).toEqual(Object.keys(expected).sort());
    for (const [where, [value, parts]] of Object.entries(expected)) {
      const problem = problemAt(problems, where);
      expect(problem.value, where).toBe(value);
      for (const part of parts) expect(problem.message, where).toContain(part);
    }
  });

  test("the error message lists every problem as a line a person can act on", () => {
    let message = "";
    try {
      parseStackConfig(everythingWrong);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid nats-infra stack config \(15 problems\):\n/);
    for (const where of Object.keys(expected)) expect(message).toContain(`  - ${where}: `);
    expect(message).toContain('  - nats-infra:docker.nats.memory: not a size; use a byte count or a size such as "512KB", "1MB", "50GB" (K/M/G/T are powers of 1024) (found: "2 gigs")');
    expect(message.split("\n")).toHaveLength(16);
  });

  test("each cross-field problem alone is found on an otherwise valid config", () => {
    const base = () => JSON.parse(JSON.stringify({ ...everythingWrong, sever: undefined })) as typeof everythingWrong;
    // Remove every schema problem; what is left are the cross-field ones.
    const raw = base();
    raw.services[0].name = "billing";
    raw.services[1].publish = ["orders.>"];
    raw.services[3] = { name: "audit", subscribe: ["audit.>"] } as never;
    raw.server.pingInterval = "20s";
    raw.docker.nats.memory = "2G";
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.path).sort()).toEqual(
      Object.keys(expected)
        .filter((k) => !/services\[0\]\.name|publish\[1\]|subscrbe|sever|memory|pingInterval/.test(k))
        .sort(),
    );
  });

  test("a problem in a later entry keeps that entry's index after an earlier entry fails the schema", () => {
    const problems = problemsOf({
      services: [{ name: "ok" }],
      accounts: [{ name: "lower" }, { name: "APP" }, { name: "APP" }],
    });
    expect(problems.map((p) => p.path)).toEqual(["nats-infra:accounts[0].name", "nats-infra:accounts[2].name"]);
    expect(problems[1].message).toContain("declared twice");
  });

  test("the limits sit exactly where the server puts them", () => {
    expect(() => parseStackConfig({ ...minimal, server: { maxPayload: 64 * MB } })).not.toThrow();
    expect(problemsOf({ ...minimal, server: { maxPayload: 64 * MB + 1 } }).map((p) => p.path)).toEqual(["nats-infra:server.maxPayload"]);
    expect(() => parseStackConfig({ ...minimal, server: { lameDuckDuration: "30s", lameDuckGracePeriod: "29s" } })).not.toThrow();
    expect(problemsOf({ ...minimal, server: { lameDuckDuration: "30s", lameDuckGracePeriod: "1m" } })[0].path).toBe("nats-infra:server.lameDuckGracePeriod");
    const clash = problemsOf({ ...minimal, accounts: [{ name: "APP" }, { name: "A-B" }, { name: "A_B" }] });
    expect(clash.map((p) => [p.path, p.message.includes("A-B")])).toEqual([["nats-infra:accounts[2].name", true]]);
    // nats-server 2.14 refuses a lame duck duration under 30 s at start; catch it before deploy.
    expect(problemsOf({ ...minimal, server: { lameDuckDuration: "29s", lameDuckGracePeriod: "5s" } }).map((p) => p.path)).toEqual(["nats-infra:server.lameDuckDuration"]);
    const memoryStream = { name: "M", subjects: ["m.>"], storage: "memory" };
    expect(() => parseStackConfig({ ...minimal, jetstream: { maxMemoryStore: "1GB" }, streams: [{ ...memoryStream, maxBytes: "1GB" }] })).not.toThrow();
    const tooBig = problemsOf({ ...minimal, jetstream: { maxMemoryStore: "1GB" }, streams: [{ ...memoryStream, maxBytes: GB + 1 }] });
    expect(tooBig.map((p) => [p.path, p.message.includes("jetstream.maxMemoryStore")])).toEqual([["nats-infra:streams[0].maxBytes", true]]);
  });

  test("an import is accepted when the other account exports a subject that covers it", () => {
    const accounts = (exported: string) => [
      { name: "APP", imports: [{ stream: "billing.events.paid", account: "BILLING" }] },
      { name: "BILLING", exports: [{ stream: exported }] },
    ];
    expect(() => parseStackConfig({ ...minimal, accounts: accounts("billing.events.>") })).not.toThrow();
    const problems = problemsOf({ ...minimal, accounts: accounts("billing.invoices.>") });
    expect(problems.map((p) => [p.path, p.value])).toEqual([["nats-infra:accounts[0].imports[0].stream", '"billing.events.paid"']]);
    expect(problems[0].message).toContain("account BILLING exports no stream covering this subject");
  });

  test("streams in different accounts may share subjects; a pull consumer may not name a deliverSubject", () => {
    const accounts = [{ name: "APP" }, { name: "OTHER" }];
    expect(() =>
      parseStackConfig({ ...minimal, accounts, streams: [{ name: "A", subjects: ["x.>"] }, { name: "B", subjects: ["x.>"], account: "OTHER" }] }),
    ).not.toThrow();
    const problems = problemsOf({ ...minimal, streams: [{ name: "A", subjects: ["x.>"], consumers: [{ name: "c", type: "pull", deliverSubject: "out" }] }] });
    expect(problems.map((p) => p.path)).toEqual(["nats-infra:streams[0].consumers[0].deliverSubject"]);
  });

  test("a typo in an export names the key and the keys allowed there", () => {
    const problems = problemsOf({ ...minimal, accounts: [{ name: "APP", exports: [{ steam: "x.>" }] }] });
    expect(problems).toEqual([
      { path: "nats-infra:accounts[0].exports[0].steam", value: '"x.>"', message: expect.stringContaining('did you mean "stream"') },
    ]);
    expect(problems[0].message).toContain("allowed here: stream, service");
  });

  test("a value of the wrong type says what type is wanted", () => {
    const problems = problemsOf({ ...minimal, server: { maxPayload: true, maxConnections: "many" }, services: [{ name: "svc", requests: "yes" }] });
    expect(problemAt(problems, "nats-infra:server.maxPayload").message).toContain("not a size");
    expect(problemAt(problems, "nats-infra:server.maxConnections").message).toBe("expected a number here, not a string");
    expect(problemAt(problems, "nats-infra:services[0].requests").message).toBe("expected a boolean here, not a string");
  });

  test("a stack without services says to declare one", () => {
    expect(problemsOf({})).toEqual([{ path: "nats-infra:services", value: "(missing)", message: "required: add this field (array)" }]);
    expect(problemsOf({ services: [] })).toEqual([{ path: "nats-infra:services", value: "[]", message: "declare at least one service" }]);
  });
});

describe("warnings", () => {
  test('"_INBOX.*" in a subscribe list is accepted with a warning that says why and what to do', () => {
    const { config, warnings } = parseStackConfig({ services: [{ name: "asker", subscribe: ["asker.>", "_INBOX.*"] }] });
    expect(config.services[0].subscribe).toEqual(["asker.>", "_INBOX.*"]);
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning.path).toBe("nats-infra:services[0].subscribe[1]");
    expect(warning.value).toBe('"_INBOX.*"');
    // Why: replies arrive on muxed inboxes with two tokens after _INBOX.
    expect(warning.message).toContain("_INBOX.<id>.<n>");
    expect(warning.message).toContain("requests would time out");
    // What to do: requests: true already grants the right pattern.
    expect(warning.message).toContain('already grants "_INBOX.>"');
    expect(warning.message).toContain("can be removed");
  });

  test("with requests off, the warning says to turn them on", () => {
    const { warnings } = parseStackConfig({ services: [{ name: "asker", requests: false, subscribe: ["_INBOX.*"] }] });
    expect(warnings.map((w) => w.path)).toEqual(["nats-infra:services[0].subscribe[0]"]);
    expect(warnings[0].message).toContain('Set requests: true (grants "_INBOX.>")');
  });

  test('"_INBOX.>" needs no warning', () => {
    expect(parseStackConfig({ services: [{ name: "asker", subscribe: ["_INBOX.>"] }] }).warnings).toEqual([]);
  });
});

describe("Docker limits that Docker itself would refuse, or read as 'unlimited'", () => {
  test.each([
    [{ memory: 0 }, "docker.nats.memory", "at least 6MiB"],
    [{ memory: "5MiB" }, "docker.nats.memory", "at least 6MiB"],
    [{ cpus: 0 }, "docker.nats.cpus", "at least 0.01"],
    [{ cpus: -1 }, "docker.nats.cpus", "at least 0.01"],
    [{ logMaxSize: "0m" }, "docker.nats.logMaxSize", "a positive size"],
  ])("%j is refused at %s", (nats, where, message) => {
    const problem = problemAt(problemsOf({ ...minimal, docker: { nats } }), `nats-infra:${where}`);
    expect(problem.message).toContain(message);
  });

  test("the smallest values Docker accepts and its provider keeps pass, and GOMEMLIMIT stays above zero", () => {
    const { config } = parseStackConfig({ ...minimal, docker: { nats: { memory: "6MiB", cpus: 0.1, logMaxSize: "1k" } } });
    expect(config.docker.nats.memory).toBe(6 * MB);
    expect(config.docker.nats.cpus).toBe(0.1);
  });

  test.each([
    [0.05, '"0.1"', "such as 0.1"],
    [0.01, '"0.0"', "such as 0.1"],
    [10.05, '"10.1"', "such as 10.1"],
  ])("cpus %s, which the provider reads back as another value, is refused with one it keeps", (cpus, readBack, suggestion) => {
    const problem = problemAt(problemsOf({ ...minimal, docker: { nats: { cpus } } }), "nats-infra:docker.nats.cpus");
    expect(problem.message).toContain(`reads ${cpus} back as ${readBack}`);
    expect(problem.message).toContain(suggestion);
  });
});

describe("server values nats-server would silently replace with its own default", () => {
  test.each([
    [{ maxPayload: 0 }, "server.maxPayload", "default of 1MB"],
    [{ pingInterval: "0s" }, "server.pingInterval", "longer than 0"],
    [{ writeDeadline: "0ms" }, "server.writeDeadline", "longer than 0"],
  ])("%j is refused at %s", (server, where, message) => {
    expect(problemAt(problemsOf({ ...minimal, server }), `nats-infra:${where}`).message).toContain(message);
  });
});

describe("ports a cluster derives for its nodes", () => {
  test("a derived port above 65535 is refused at the key it derives from, with the highest that fits", () => {
    const problems = problemsOf({ ...minimal, cluster: { nodes: 3 }, server: { monitorPort: 65535 } });
    const problem = problemAt(problems, "nats-infra:server.monitorPort");
    expect(problem.message).toContain("node 1's monitoring port would be 65536 (server.monitorPort + 1), above 65535");
    expect(problem.message).toContain("at most 65533");
  });

  test("two derived ports that collide name both keys", () => {
    const problems = problemsOf({ ...minimal, cluster: { nodes: 3 }, server: { clientPort: 4222, monitorPort: 4223 } });
    const problem = problemAt(problems, "nats-infra:server.clientPort");
    expect(problem.message).toContain("port 4223 (node 1's client port, server.clientPort + 1) is already taken on this Docker host by node 0's monitoring port, server.monitorPort + 0");
  });

  test("across Docker hosts, two nodes on one host are refused at the second node's dockerHost: the one route port cannot be published twice there", () => {
    const tls = { cert: "/tls/cert.pem", key: "/tls/key.pem", ca: "/tls/ca.pem" };
    const nodes = [{ address: "10.0.0.5" }, { address: "10.0.0.6", dockerHost: "ssh://admin@10.0.0.6", clientPort: 4300, monitorPort: 8300 }, { address: "10.0.0.6", dockerHost: "ssh://admin@10.0.0.6", clientPort: 4301, monitorPort: 8301 }];
    const problems = problemsOf({ ...minimal, cluster: { nodes, tls } });
    const problem = problemAt(problems, "nats-infra:cluster.nodes[2].dockerHost");
    expect(problem.message).toBe(
      "node 2 is on ssh://admin@10.0.0.6 with node 1: across Docker hosts every node publishes cluster.routePort (6222) on its host, so each Docker host holds one node; give node 2 a dockerHost of its own",
    );
    expect(problems.map((p) => p.path)).not.toContain("nats-infra:cluster.routePort");
  });
});
