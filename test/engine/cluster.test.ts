// A 3-node cluster on the real engine: route TLS (certificates made here, as a user would bring
// them), R3 streams with a durable consumer, Surveyor and nats-box on. It deploys idempotently;
// an auth change reloads every node with no client disconnected; a restart-class change and an image change go through `npm run up` one node at a time under
// steady clients with nothing acknowledged lost; and a plain `pulumi up` that would replace two
// nodes at once is refused by the replacement guard before any node is touched.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterStack } from "../cluster/support/clusterStack";
import { dockerOk } from "../harness/docker";
import { describeDowntime, expectOneAtATime, watchDowntime } from "../harness/downtime";
import { expectServiceAddedByReload } from "../harness/authChange";
import { EngineStack, prepareEngine, tail, type StackImages } from "../harness/engine";
import { freePort, freePortRange } from "../harness/ports";
import { accessFromOutputs, DEV_TRAFFIC, SteadyTraffic } from "../harness/steadyTraffic";

const NODES = ["", "-1", "-2"];
let stack: EngineStack;
let images: StackImages;
let monitorBase: number;
let certDir: string;

const containerName = (suffix: string) => `${stack.prefix}-nats${suffix}`;
const containerIds = () => NODES.map((suffix) => dockerOk(["inspect", "-f", "{{.Id}}", containerName(suffix)]));
const serverStarts = async () => Promise.all(watched().map(async (n) => ((await (await fetch(`${n.monitorUrl}/varz`)).json()) as { start: string }).start));
const watched = () => NODES.map((suffix, i) => ({ name: containerName(suffix), monitorUrl: `http://127.0.0.1:${monitorBase + i}` }));

/** A CA and one certificate for every node's routes (CN and SAN: the container names). */
function routeCertificates(dir: string, prefix: string): { cert: string; key: string; ca: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=nats-infra test CA", "-keyout", file("ca-key.pem"), "-out", file("ca.pem")]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${prefix}-nats`, "-keyout", file("key.pem"), "-out", file("req.pem")]);
  const names = NODES.map((suffix) => `DNS:${prefix}-nats${suffix}`).join(",");
  execFileSync("bash", ["-c", `printf 'subjectAltName=${names}\\nextendedKeyUsage=serverAuth,clientAuth\\n' >ext.cnf`], { cwd: dir });
  openssl(["x509", "-req", "-in", file("req.pem"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial", "-days", "1", "-extfile", file("ext.cnf"), "-out", file("cert.pem")]);
  return { cert: file("cert.pem"), key: file("key.pem"), ca: file("ca.pem") };
}

/** Deploys `next` with `npm run up` under steady clients and a downtime watch; returns the down windows. */
async function rollingChange(next: Record<string, unknown>): Promise<void> {
  stack.setConfig(next);
  const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
  const watch = watchDowntime(watched());
  const up = await stack.npm("up", ["--yes"]);
  const windows = await watch.stop();
  const report = await traffic.end();
  console.log(`engine: npm run up ${up.ms} ms; down: ${describeDowntime(windows)}; ${report.summary}`);
  expect(up.status, tail(up.stdout + up.stderr)).toBe(0);
  expectOneAtATime(windows, NODES.map(containerName));
  expect(report.lostAcked).toEqual([]);
  expect(report.closedEarly).toEqual([]);
  await stack.expectNoChanges();
}

beforeAll(async () => {
  images = prepareEngine();
  const raw = clusterStack(3);
  const client = await freePortRange(3);
  monitorBase = await freePortRange(3);
  certDir = mkdtempSync(path.join(tmpdir(), "nats-infra-engine-tls-"));
  stack = new EngineStack({});
  stack.setConfig({
    ...raw,
    cluster: { nodes: 3, tls: routeCertificates(certDir, stack.prefix) },
    // The shortest lame duck nats-server accepts keeps each node's restart short.
    server: { ...(raw.server as object), clientPort: client, monitorPort: monitorBase, lameDuckDuration: "30s", lameDuckGracePeriod: "5s" },
    streams: (raw.streams as object[]).map((s) => ({ ...s, replicas: 3, duplicateWindow: `${DEV_TRAFFIC.duplicateWindowMs / 1000}s` })),
    docker: { surveyor: { port: await freePort() }, natsBox: { enabled: true } },
  });
  await stack.npmOk("up", ["--yes"]);
  await stack.expectNoChanges();
});

afterAll(async () => {
  await stack?.dispose();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe("a 3-node cluster with route TLS, R3 streams, Surveyor and nats-box", () => {
  test("every node routes to the other two over TLS", async () => {
    for (const { monitorUrl } of watched()) {
      const routez = (await (await fetch(`${monitorUrl}/routez`)).json()) as { routes: { remote_name?: string }[] };
      expect(new Set(routez.routes.map((r) => r.remote_name)).size).toBe(2);
      const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { cluster: { tls_required?: boolean } };
      expect(varz.cluster.tls_required).toBe(true);
    }
  });

  test("an auth change (a service added): every node reloads, no node restarts or is replaced, no client disconnected or message lost", async () => {
    await expectServiceAddedByReload(stack, { containerIds, serverStarts, nodes: NODES.length }, "on 3 nodes");
  });

  test("a restart-class change (jetstream.syncInterval) through npm run up: one node at a time, nothing acknowledged lost", async () => {
    const ids = containerIds();
    await rollingChange({ ...stack.config, jetstream: { ...(stack.config.jetstream as object), syncInterval: "2s" } });
    // Restarted in place, not replaced.
    expect(containerIds()).toEqual(ids);
  });

  test("an image change through npm run up: each node replaced alone, nothing acknowledged lost", async () => {
    const upgraded = `${images.nats}-upgrade`;
    dockerOk(["tag", images.nats, upgraded]);
    const ids = containerIds();
    await rollingChange({ ...stack.config, docker: { ...(stack.config.docker as object), nats: { image: upgraded } } });
    const replaced = containerIds();
    expect(replaced.filter((id, i) => id === ids[i])).toEqual([]);
  });

  test("a plain pulumi up that would replace every node is refused by the guard before any node is touched", async () => {
    const previous = stack.config;
    const other = `${images.nats}-other`;
    dockerOk(["tag", images.nats, other]);
    const ids = containerIds();
    stack.setConfig({ ...previous, docker: { ...(previous.docker as object), nats: { image: other } } });
    try {
      const up = await stack.pulumi(["up", "--yes", "--skip-preview"]);
      expect(up.status).not.toBe(0);
      expect(up.stdout + up.stderr).toContain("nats-infra replacement guard: this update would replace the containers of 3 nodes at once");
      expect(containerIds()).toEqual(ids);
    } finally {
      stack.setConfig(previous);
    }
    // The image resource (a lookup of the local image, kept on delete) does not wait for the
    // guard and took the new name; going back is an up that touches no container either.
    await stack.npmOk("up", ["--yes"]);
    expect(containerIds()).toEqual(ids);
    await stack.expectNoChanges();
  });
});
