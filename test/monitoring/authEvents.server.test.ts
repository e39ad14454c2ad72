// The exporter of refused logins on real programs: a real nats-server rendered as the product
// renders a stack with monitoring on (so with the `_auth_events` user), and the real exporter
// binary logging in as that user with its password in a file. What the server publishes for a
// refused login, what the user may and may not read, and the exporter's counter and connected
// gauge through a stop and a start of the server.
import type { Msg } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { AUTH_ERROR_SUBJECT, AUTH_EVENTS_USER, natsUsers } from "../../config/users";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { sleep, waitFor } from "../harness/natsServer";
import { DEV_STACK_FIXTURE } from "../harness/tools";
import { refusedLogins, startAuthEvents, type RunningAuthEvents } from "./support/authEvents";

const REFUSED = 5;
let cluster: RunningCluster;
let exporter: RunningAuthEvents;
let serverName: string;

beforeAll(async () => {
  cluster = await startCluster({ ...readStackFile(DEV_STACK_FIXTURE), monitoring: { prometheus: { enabled: true } } }, 1);
  serverName = cluster.nodes[0].serverName;
  const services = cluster.config.services.map((s) => s.name);
  const user = natsUsers(cluster.config).find((u) => u.user === AUTH_EVENTS_USER)!;
  exporter = await startAuthEvents({ servers: cluster.urls, password: cluster.passwords[AUTH_EVENTS_USER], users: services, serverNames: [serverName], inboxPrefix: user.inboxPrefix });
}, 60_000);

afterAll(async () => {
  await exporter?.stop();
  await cluster?.stop();
});

test("the server publishes a refused login on $SYS.SERVER.<id>.CLIENT.AUTH.ERR with its name, the user and the reason; _auth_events may read that and nothing else of $SYS", async () => {
  const nc = await connect({ ...cluster.login(AUTH_EVENTS_USER), servers: cluster.urlList });
  try {
    const heard: Msg[] = [];
    nc.subscribe(AUTH_ERROR_SUBJECT, { callback: (_error: Error | null, msg: Msg) => heard.push(msg) });
    await nc.flush();
    await refusedLogins(cluster.urlList, "user-service", 1);
    await waitFor(async () => heard.length === 1, 5_000, () => "no auth error event");
    const varz = (await (await fetch(`${cluster.nodes[0].monitorUrl}/varz`)).json()) as { server_id: string };
    expect(heard[0].subject).toBe(`$SYS.SERVER.${varz.server_id}.CLIENT.AUTH.ERR`);
    const event = heard[0].json<{ type: string; server: { name: string }; client: { user: string }; reason: string }>();
    expect(event.type).toBe("io.nats.server.advisory.v1.client_disconnect");
    expect(event.server.name).toBe(serverName);
    expect(event.client.user).toBe("user-service");
    expect(event.reason).toMatch(/Authentication Failure/i);

    // Another subject of the system account is refused (the server reports a permissions violation).
    const refusal = new Promise<string>((resolve) => {
      void (async () => {
        for await (const status of nc.status()) if (status.type === "error") resolve(String(status.error));
      })();
    });
    nc.subscribe("$SYS.SERVER.*.CLIENT.CONNECT");
    await nc.flush();
    expect(await Promise.race([refusal, sleep(3_000).then(() => "no refusal")])).toMatch(/Permissions Violation for Subscription/);
  } finally {
    await nc.close();
  }
}, 30_000);

test(`${REFUSED} refused logins count ${REFUSED} for the server and the service; the connected gauge follows a stop and a start of the server`, async () => {
  const before = (await exporter.sample("nats_infra_auth_errors_total", { server_name: serverName, user: "user-service" })) ?? NaN;
  const otherBefore = (await exporter.sample("nats_infra_auth_errors_total", { server_name: serverName, user: "other" })) ?? NaN;
  expect(await exporter.sample("nats_infra_auth_events_connected")).toBe(1);

  await refusedLogins(cluster.urlList, "user-service", REFUSED);
  await refusedLogins(cluster.urlList, "no-such-user", 2);
  await waitFor(
    async () => (await exporter.sample("nats_infra_auth_errors_total", { server_name: serverName, user: "user-service" })) === before + REFUSED,
    5_000,
    () => `counter not ${before + REFUSED}:\n${exporter.log()}`,
  );
  await waitFor(async () => (await exporter.sample("nats_infra_auth_errors_total", { server_name: serverName, user: "other" })) === otherBefore + 2, 5_000, () => "other not counted");
  // A name the exporter was not given is counted as "other", never as a series of its own.
  expect(await exporter.metrics()).not.toContain("no-such-user");

  await cluster.kill(0);
  await waitFor(async () => (await exporter.sample("nats_infra_auth_events_connected")) === 0, 10_000, () => `gauge not 0 after the server stopped:\n${exporter.log()}`);
  await cluster.start(0);
  await waitFor(async () => (await exporter.sample("nats_infra_auth_events_connected")) === 1, 15_000, () => `gauge not 1 after the server started:\n${exporter.log()}`);
  // The subscription came back with the connection: a refused login after the restart counts.
  await refusedLogins(cluster.urlList, "user-service", 1);
  await waitFor(
    async () => (await exporter.sample("nats_infra_auth_errors_total", { server_name: serverName, user: "user-service" })) === before + REFUSED + 1,
    5_000,
    () => `not counted after the restart:\n${exporter.log()}`,
  );
}, 60_000);
