// The nats container's life as the component runs it: `docker stop` sends SIGUSR2, so the server
// goes into lame duck mode, tells its clients, and exits cleanly; JetStream data lives on the
// named volume and outlives the container.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { docker, dockerAsync, dockerOk, inspect, removeAll, requireDocker, startNatsContainer } from "../harness/docker";

// nats-server refuses a lame duck shorter than 30 s; a short grace period keeps the stop quick.
const config = {
  services: [{ name: "orders", publish: ["orders.>", "$JS.API.>"], subscribe: ["orders.>"] }],
  server: { lameDuckDuration: "30s", lameDuckGracePeriod: "1s" },
};
const opened: Awaited<ReturnType<typeof connect>>[] = [];

beforeAll(() => requireDocker());
afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

test("docker stop puts the server in lame duck mode: clients are told, and it exits with code 0", async () => {
  const nats = await startNatsContainer(config, { stopTimeoutSeconds: 45 });
  const nc = await connect({ servers: nats.url, user: "orders", pass: nats.renderer.passwords.orders, reconnect: false });
  opened.push(nc);
  const events: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type !== "ping") events.push(status.type);
  })();
  expect(inspect(nats.name, "{{.Config.StopSignal}}")).toBe("SIGUSR2");

  const start = Date.now();
  const stop = await dockerAsync(["stop", nats.name], { timeoutMs: 55_000 });
  console.log(`docker stop with one client connected took ${Date.now() - start} ms (lame duck 30s, grace 1s)`);

  expect(stop.status).toBe(0);
  // 137 would mean Docker gave up waiting and killed the server.
  expect(inspect(nats.name, "{{.State.ExitCode}} {{.State.OOMKilled}}")).toBe("0 false");
  const log = nats.logs();
  expect(log).toContain('Trapped "user defined signal 2" signal');
  expect(log).toContain("Entering lame duck mode");
  expect(log).toContain("Server Exiting..");
  await nc.closed();
  expect(events).toContain("ldm");
});

test("JetStream data is on the named volume and survives replacing the container", async () => {
  const first = await startNatsContainer(config);
  const nc = await connect({ servers: first.url, user: "orders", pass: first.renderer.passwords.orders });
  opened.push(nc);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  const js = jsm.jetstream();
  await js.publish("orders.created", "order-1");
  await js.publish("orders.created", "order-2");
  await nc.close();
  // Removed the way a replacement removes it: the container goes, the volume stays.
  dockerOk(["rm", "--force", first.name]);
  expect(docker(["volume", "inspect", first.volume]).status).toBe(0);

  const second = await startNatsContainer(config, { volume: first.volume });
  const nc2 = await connect({ servers: second.url, user: "orders", pass: second.renderer.passwords.orders });
  opened.push(nc2);
  const info = await (await jetstreamManager(nc2)).streams.info("ORDERS");
  expect(info.state.messages).toBe(2);
  expect(dockerOk(["exec", second.name, "ls", "/data/jetstream"])).not.toBe("");
});
