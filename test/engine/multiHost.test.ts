// A 3-node cluster across three Docker hosts on the real engine: node 0 on this machine's engine,
// nodes 1 and 2 each on another engine reached over SSH (test/harness/secondHost.ts), described to
// the stack as a user describes real hosts (dockerHost ssh://root@<address>:<port>, address, the
// key and the hosts' SSH keys in cluster.ssh). Route TLS with certificates made here for the
// nodes' addresses. One node per host: cluster.routePort is one number, claimed once per host.
// It deploys (a Docker provider over ssh://, the script copied over SSH, the remote config
// commands), the routes form over TLS across engines, the R3 streams have three current
// replicas, and it is idempotent; an auth change reloads every node on every host with no client
// disconnected; a restart-class change and an image change go one node at a time across hosts
// with nothing acknowledged lost; losing one host (its engine stopped, or crashed) leaves the
// cluster serving and its node rejoins when it is back; losing two is reported by `nats-infra health` and
// `status`, and nothing acknowledged is lost once they are back. health, status, test-auth and
// logs work on the stack, reading the remote containers over SSH, and `nats-infra restart`
// restarts every node one at a time at its host.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterStack, STREAM } from "../cluster/support/clusterStack";
import { dockerOk } from "../harness/docker";
import { describeDowntime, expectOneAtATime, watchDowntime, type DownWindow } from "../harness/downtime";
import { ADDED_SERVICE, expectServiceAddedByReload } from "../harness/authChange";
import { EngineStack, prepareEngine, tail, type StackImages } from "../harness/engine";
import { freePort, freePortRange } from "../harness/ports";
import { ClientKey, HostAddress, SecondHost, sshClientPath } from "../harness/secondHost";
import { sleep, waitFor } from "../harness/natsServer";
import { accessFromOutputs, DEV_TRAFFIC, SteadyTraffic } from "../harness/steadyTraffic";
import { REMOTE_CONFIG_ROOT } from "../../components/remoteConfigCommand";
import { readStackFile } from "../../config/load";

const NODES = ["", "-1", "-2"];
let stack: EngineStack;
let images: StackImages;
let key: ClientKey;
let local: HostAddress;
let others: SecondHost[] = [];
let ssh: { dir: string; dispose(): void } | undefined;
let certDir: string;
let clientBase: number;
let monitorBase: number;

const addresses = () => [local.address, ...others.map((h) => h.address)];
const containerName = (i: number) => `${stack.prefix}-nats${NODES[i]}`;
/** `docker` on the engine node i runs on: this machine's for node 0, its own host's for the others. */
const dockerOn = (i: number, args: string[]) => (i === 0 ? dockerOk(args) : others[i - 1].docker(args));
const containerIds = () => NODES.map((_, i) => dockerOn(i, ["inspect", "-f", "{{.Id}}", containerName(i)]));
const watched = () => NODES.map((_, i) => ({ name: containerName(i), monitorUrl: `http://${addresses()[i]}:${monitorBase + i}` }));
const monitor = async <T>(i: number, endpoint: string): Promise<T> => (await (await fetch(`${watched()[i].monitorUrl}/${endpoint}`)).json()) as T;
const serverStarts = () => Promise.all(NODES.map(async (_, i) => (await monitor<{ start: string }>(i, "varz")).start));

/**
 * The down windows of restarts, without one-poll blips: a poll of a node nobody touched has
 * answered HTTP 500 once for about 100 ms (twice in about 15 rolling operations, while another
 * node restarted), while a restart takes a node down for over a second. /healthz answers 500 when
 * the server's readyForConnections check fails, and in /healthz that check has a budget of 1 ms
 * (nats-server 2.14 server/monitor.go, server/server.go): a server that does not get the CPU for a
 * millisecond between setting and checking its deadline fails it with nothing checked, which a
 * 2-core machine busy replacing containers can cause. The windows record the server's reason
 * (a restart's starts with "... after 1ms: server", the client listener closed by lame duck), so
 * the next blip's log line shows which it was. The blips still show in the logged windows.
 */
const BLIP_MS = 300;
const restarts = (windows: DownWindow[]) => windows.filter((w) => w.to === undefined || w.to - w.from > BLIP_MS);

/** A CA and one certificate for every node's routes, valid for every node's address (routes dial addresses). */
function routeCertificates(dir: string, ips: string[]): { cert: string; key: string; ca: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=nats-infra test CA", "-keyout", file("ca-key.pem"), "-out", file("ca.pem")]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=nats-route", "-keyout", file("key.pem"), "-out", file("req.pem")]);
  execFileSync("bash", ["-c", `printf 'subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}\\nextendedKeyUsage=serverAuth,clientAuth\\n' >ext.cnf`], { cwd: dir });
  openssl(["x509", "-req", "-in", file("req.pem"), "-CA", file("ca.pem"), "-CAkey", file("ca-key.pem"), "-CAcreateserial", "-days", "1", "-extfile", file("ext.cnf"), "-out", file("cert.pem")]);
  return { cert: file("cert.pem"), key: file("key.pem"), ca: file("ca.pem") };
}

beforeAll(async () => {
  images = prepareEngine();
  const started = Date.now();
  key = new ClientKey();
  local = HostAddress.add();
  // One after the other: each picks a 10.x range no route uses yet.
  for (let i = 0; i < 2; i++) others.push(await SecondHost.start(key, [images.nats]));
  ssh = sshClientPath(others);
  console.log(`engine: two other Docker hosts up in ${Date.now() - started} ms: ${others.map((h) => h.dockerHost).join(", ")}; this host at ${local.address}`);

  const raw = clusterStack(3);
  clientBase = await freePortRange(3);
  monitorBase = await freePortRange(3);
  certDir = mkdtempSync(path.join(tmpdir(), "nats-infra-engine-tls-"));
  stack = new EngineStack({});
  // Pulumi's Docker provider and the rollout's docker reach the hosts through the system ssh.
  stack.setEnvironment({ PATH: `${ssh.dir}:${stack.environment.PATH}` });
  stack.setConfig({
    ...raw,
    cluster: {
      nodes: [{ address: local.address }, ...others.map((h) => ({ address: h.address, dockerHost: h.dockerHost }))],
      routePort: await freePort(),
      tls: routeCertificates(certDir, addresses()),
      ssh: { privateKey: key.privateKey, hostKeys: Object.fromEntries(others.map((h) => [h.address, h.hostKey])) },
    },
    server: { ...(raw.server as object), clientPort: clientBase, monitorPort: monitorBase, lameDuckDuration: "30s", lameDuckGracePeriod: "5s" },
    // The traffic's stream may be replaced: `restore --force` deletes it first, which its admin may do only with allowDelete.
    streams: (raw.streams as { name: string }[]).map((s) => ({ ...s, replicas: 3, duplicateWindow: `${DEV_TRAFFIC.duplicateWindowMs / 1000}s`, ...(s.name === DEV_TRAFFIC.stream ? { allowDelete: true } : {}) })),
    docker: { surveyor: { port: await freePort() }, natsBox: { enabled: false } },
  });
  // As docs/cluster.md tells a user to: the key encrypted in the stack file.
  await stack.setSecret("cluster.ssh.privateKey");
  const up = await stack.npmOk("up", ["--yes"]);
  const warnings = (up.stdout + up.stderr).split("\n").filter((line) => /warning/i.test(line));
  console.log(`engine: first npm run up across 3 hosts: ${up.ms} ms; warnings: ${warnings.length ? `\n${warnings.join("\n")}` : "none"}`);
  await stack.expectNoChanges();
});

afterAll(async () => {
  await stack?.dispose();
  for (const host of others) if (stack) host.removeByPrefix(stack.prefix);
  if (stack) rmSync(path.join(REMOTE_CONFIG_ROOT, stack.prefix), { recursive: true, force: true });
  ssh?.dispose();
  for (const host of others) await host.dispose();
  local?.remove();
  key?.dispose();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe("a 3-node cluster across three Docker hosts (two over SSH), route TLS, R3 streams", () => {
  test("each node runs on its own engine, and routes to the other two at their addresses over TLS", async () => {
    // Node i's container exists on its own engine only.
    for (const [i] of NODES.entries()) {
      expect(dockerOn(i, ["ps", "-q", "--filter", `name=^${containerName(i)}$`])).not.toBe("");
      for (const [j] of NODES.entries()) if (j !== i) expect(dockerOn(j, ["ps", "-aq", "--filter", `name=^${containerName(i)}$`])).toBe("");
    }
    for (const [i] of NODES.entries()) {
      const routez = await monitor<{ routes: { remote_name?: string; ip: string; port: number }[] }>(i, "routez");
      const varz = await monitor<{ cluster: { tls_required?: boolean; tls_verify?: boolean } }>(i, "varz");
      console.log(`engine: node ${i} routes: ${JSON.stringify(routez.routes.map((r) => `${r.remote_name}@${r.ip}:${r.port}`))}; cluster ${JSON.stringify(varz.cluster)}`);
      expect(new Set(routez.routes.map((r) => r.remote_name)).size).toBe(2);
      expect(varz.cluster.tls_required).toBe(true);
      expect(varz.cluster.tls_verify).toBe(true);
    }
  });

  test("the remote nodes' config files are installed on their hosts, secrets 0600; the SSH key, set with `pulumi config set --secret`, is nowhere in plain text", async () => {
    for (const i of [1, 2]) {
      const dir = path.join(REMOTE_CONFIG_ROOT, stack.prefix, `config-${i}`);
      const modes = Object.fromEntries(["nats.conf", "auth.conf", "cluster.conf"].map((name) => [name, (statSync(path.join(dir, name)).mode & 0o777).toString(8)]));
      expect(modes).toEqual({ "nats.conf": "644", "auth.conf": "600", "cluster.conf": "600" });
    }
    // The stack file, and every file of the state: checkpoints, their backups and the update history.
    expect(stack.stateFiles().length).toBeGreaterThan(0);
    const everywhere = [readFileSync(stack.stackFile, "utf8"), stack.readState()].join("\n");
    expect(readFileSync(stack.stackFile, "utf8")).toMatch(/privateKey:\s*\n\s*secure: v1:/);
    for (const line of key.privateKey.trim().split("\n").slice(1, -1)) expect(everywhere).not.toContain(line);
  });

  test("the R3 streams have three current replicas, one on each host", async () => {
    const access = accessFromOutputs(await stack.outputs());
    const nc = await connect({ servers: access.servers, ...access.admin });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of [STREAM, DEV_TRAFFIC.stream]) {
        const info = await jsm.streams.info(name);
        const replicas = info.cluster?.replicas ?? [];
        console.log(`engine: ${name} leader ${info.cluster?.leader}, replicas ${JSON.stringify(replicas.map((r) => ({ name: r.name, current: r.current })))}`);
        expect(info.cluster?.leader).toBeTruthy();
        expect(replicas).toHaveLength(2);
        expect(replicas.every((r) => r.current)).toBe(true);
        expect(new Set([info.cluster?.leader, ...replicas.map((r) => r.name)])).toEqual(new Set(["nats-0", "nats-1", "nats-2"]));
      }
    } finally {
      await nc.close();
    }
  });

  test("health, status, test-auth and logs of a remote node work on the stack, the containers read over SSH", async () => {
    const health = await natsInfra(["health", "--stack", stack.stack]);
    const status = await natsInfra(["status", "--stack", stack.stack]);
    // Before test-auth, whose denied probes fill the tail of every log.
    const logs = await natsInfra(["logs", "nats-2", "--tail", "20", "--stack", stack.stack]);
    const testAuth = await natsInfra(["test-auth", "--stack", stack.stack]);
    console.log(`engine: operations across hosts:\n$ nats-infra status (exit ${status.status})\n${status.stdout}${status.stderr}\n$ nats-infra logs nats-2 --tail 20 (exit ${logs.status})\n${logs.stdout.split("\n").slice(-5).join("\n")}${logs.stderr}`);
    expect(health.status, health.stdout + health.stderr).toBe(0);
    expect(status.status, status.stdout + status.stderr).toBe(0);
    // Each node with its Docker host, in status's table and health's lines.
    for (const i of [1, 2]) {
      expect(status.stdout).toMatch(new RegExp(`^nats-${i}\\s+${escape(others[i - 1].dockerHost)}\\s.*running, healthy\\s*$`, "m"));
      expect(health.stdout).toMatch(new RegExp(`^nats-${i}\\s+${escape(others[i - 1].dockerHost)}\\s+ok$`, "m"));
    }
    expect(health.stdout).toMatch(/^nats-0\s+local\s+ok$/m);
    expect(testAuth.status, testAuth.stdout + testAuth.stderr).toBe(0);
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/\[INF\]/);
  });

  test("an auth change (a service added): every node on every host reloads, none restarts, no client disconnected or message lost", async () => {
    await expectServiceAddedByReload(stack, { containerIds, serverStarts, nodes: NODES.length }, "across 3 hosts");
  });

  test("a restart-class change (jetstream.syncInterval): one node at a time across hosts, restarted in place, nothing acknowledged lost", async () => {
    const ids = containerIds();
    stack.setConfig({ ...stack.config, jetstream: { ...(stack.config.jetstream as object), syncInterval: "2s" } });
    const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
    const watch = watchDowntime(watched());
    const up = await stack.npm("up", ["--yes"]);
    const windows = await watch.stop();
    const report = await traffic.end();
    console.log(`engine: restart-class change across 3 hosts: npm run up ${up.ms} ms; down: ${describeDowntime(windows)}; ${report.summary}`);
    expect(up.status, tail(up.stdout + up.stderr)).toBe(0);
    expectOneAtATime(restarts(windows), NODES.map((_, i) => containerName(i)));
    expect(report.lostAcked).toEqual([]);
    expect(report.closedEarly).toEqual([]);
    expect(containerIds()).toEqual(ids);
    await stack.expectNoChanges();
  });

  test("an image change: each node replaced alone, on its own host, nothing acknowledged lost", async () => {
    const upgraded = `${images.nats}-upgrade`;
    dockerOk(["tag", images.nats, upgraded]);
    for (const host of others) host.loadImages([upgraded]);
    const ids = containerIds();
    stack.setConfig({ ...stack.config, docker: { ...(stack.config.docker as object), nats: { image: upgraded } } });
    const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
    const watch = watchDowntime(watched());
    const up = await stack.npm("up", ["--yes"]);
    const windows = await watch.stop();
    const report = await traffic.end();
    console.log(`engine: image change across 3 hosts: npm run up ${up.ms} ms; down: ${describeDowntime(windows)}; ${report.summary}`);
    expect(up.status, tail(up.stdout + up.stderr)).toBe(0);
    expectOneAtATime(restarts(windows), NODES.map((_, i) => containerName(i)));
    expect(report.lostAcked).toEqual([]);
    expect(report.closedEarly).toEqual([]);
    const replaced = containerIds();
    expect(replaced.filter((id, i) => id === ids[i])).toEqual([]);
    NODES.forEach((_, i) => expect(dockerOn(i, ["inspect", "-f", "{{.Config.Image}}", containerName(i)])).toBe(upgraded));
    await stack.expectNoChanges();
  });

  test("nats-infra restart (every node, docker restart at each node's host): one at a time, the same containers, nothing acknowledged lost", async () => {
    const ids = containerIds();
    const starts = await serverStarts();
    const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
    const watch = watchDowntime(watched());
    const restart = await natsInfra(["restart", "--stack", stack.stack], 600_000);
    const windows = await watch.stop();
    const report = await traffic.end();
    console.log(`engine: nats-infra restart across 3 hosts (exit ${restart.status}): down: ${describeDowntime(windows)}; ${report.summary}\n${restart.stdout}${restart.stderr}`);
    expect(restart.status, restart.stdout + restart.stderr).toBe(0);
    for (const i of [1, 2]) expect(restart.stdout).toMatch(new RegExp(`^nats-${i}: restarting at ${escape(others[i - 1].dockerHost)}$`, "m"));
    expectOneAtATime(restarts(windows), NODES.map((_, i) => containerName(i)));
    expect(report.lostAcked).toEqual([]);
    expect(report.closedEarly).toEqual([]);
    expect(containerIds()).toEqual(ids);
    (await serverStarts()).forEach((start, i) => expect(start).not.toBe(starts[i]));
    await stack.expectNoChanges();
  });

  test("nats-infra backup and restore: a replicated stream backed up across hosts comes back verified, three current replicas, one per host", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-engine-backup-"));
    try {
      const backupDir = path.join(dir, "backup");
      const backup = await natsInfra(["backup", backupDir, "--stream", DEV_TRAFFIC.stream, "--stack", stack.stack]);
      expect(backup.status, backup.stdout + backup.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(path.join(backupDir, "manifest.json"), "utf8")) as { streams: { name: string; state: { messages: number } }[] };
      const saved = manifest.streams.find((s) => s.name === DEV_TRAFFIC.stream);
      const messages = saved?.state.messages ?? 0;
      expect(messages).toBeGreaterThan(0);
      const restore = await natsInfra(["restore", backupDir, "--stream", DEV_TRAFFIC.stream, "--force", "--stack", stack.stack], 300_000);
      console.log(`engine: backup and restore across 3 hosts:\n$ nats-infra backup (exit ${backup.status})\n${backup.stdout}${backup.stderr}\n$ nats-infra restore --force (exit ${restore.status})\n${restore.stdout}${restore.stderr}`);
      expect(restore.status, restore.stdout + restore.stderr).toBe(0);
      expect(restore.stdout).toContain("count, sequences and content hash match the manifest");
      const access = accessFromOutputs(await stack.outputs());
      const nc = await connect({ servers: access.servers, ...access.admin });
      try {
        const jsm = await jetstreamManager(nc);
        await waitFor(async () => {
          const info = await jsm.streams.info(DEV_TRAFFIC.stream);
          const members = new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).filter((r) => r.current).map((r) => r.name)]);
          return info.state.messages === messages && members.size === 3;
        }, 60_000, () => `${DEV_TRAFFIC.stream} did not come back with ${messages} messages on three current replicas`);
      } finally {
        await nc.close();
      }
      await stack.expectNoChanges();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("nats-infra rotate: one service's password replaced by a reload on every host; the new one logs in everywhere, the old one nowhere", async () => {
    const before = (await stack.outputs()).credentials[ADDED_SERVICE.name];
    const ids = containerIds();
    const starts = await serverStarts();
    const rotate = await natsInfra(["rotate", ADDED_SERVICE.name, "--stack", stack.stack]);
    expect(rotate.status, rotate.stdout + rotate.stderr).toBe(0);
    // rotate edits the stack file (passwordRotation); later config changes keep its edit.
    stack.setConfig({ ...stack.config, services: readStackFile(stack.stackFile).services });
    const steps = await stack.previewSteps();
    console.log(`engine: rotate across 3 hosts: ${rotate.stdout.trim()}\npreview: ${steps.map((step) => `${step.op} ${step.name}`).join(", ")}`);
    expect(steps.filter((step) => step.op === "replace").map((step) => step.name)).toEqual([`nats-password-${ADDED_SERVICE.name}`]);
    const up = await stack.npmOk("up", ["--yes"]);
    const after = (await stack.outputs()).credentials[ADDED_SERVICE.name];
    expect(after.password).not.toBe(before.password);
    for (const url of after.url.split(",")) {
      await (await connect({ servers: url, user: after.user, pass: after.password, inboxPrefix: after.inboxPrefix, reconnect: false })).close();
      await expect(connect({ servers: url, user: before.user, pass: before.password, reconnect: false })).rejects.toThrow(/Authorization/i);
    }
    console.log(`engine: rotate applied by npm run up in ${up.ms} ms`);
    expect(containerIds()).toEqual(ids);
    expect(await serverStarts()).toEqual(starts);
    await stack.expectNoChanges();
  });

  test("nats-infra stop and start: every node stopped (lame duck) and started at its own host, named with it; the data is all there after", async () => {
    const messagesBefore = await streamMessages();
    const stop = await natsInfra(["stop", "--stack", stack.stack], 600_000);
    const stopped = NODES.map((_, i) => dockerOn(i, ["inspect", "-f", "{{.State.Status}}", containerName(i)]));
    const start = await natsInfra(["start", "--stack", stack.stack], 600_000);
    console.log(`engine: nats-infra stop and start across 3 hosts:\n${stop.stdout}${stop.stderr}\n${start.stdout}${start.stderr}`);
    expect(stop.status, stop.stdout + stop.stderr).toBe(0);
    expect(stopped).toEqual(["exited", "exited", "exited"]);
    expect(start.status, start.stdout + start.stderr).toBe(0);
    for (const i of [1, 2]) {
      expect(stop.stdout).toMatch(new RegExp(`^nats-${i} at ${escape(others[i - 1].dockerHost)}: stopped in \\d+ ms, exit code 0$`, "m"));
      expect(start.stdout).toMatch(new RegExp(`^nats-${i} at ${escape(others[i - 1].dockerHost)}: started, healthy$`, "m"));
    }
    expect(await streamMessages()).toBe(messagesBefore);
    await stack.expectNoChanges();
  });

  test("losing a whole host (its engine stopped): the other two keep serving with nothing acknowledged lost; back, its node rejoins", async () => {
    await loseOneHost(2, "stopped", (host) => host.stopEngine());
  });

  test("a host crashing (engine, containerd and node killed at once): the other two keep serving with nothing acknowledged lost; back, its node rejoins", async () => {
    await loseOneHost(1, "crashed", (host) => host.crashEngine());
  });

  test("losing the hosts of two nodes: health and status name the two unreachable nodes and the survivor's JetStream as not current; back, nothing acknowledged is lost", async () => {
    const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
    await traffic.publisher.untilAcked(traffic.publisher.acked.length + 50);
    await Promise.all(others.map((host) => host.stopEngine()));
    const stopped = performance.now();
    const ackedBefore = traffic.publisher.acked.length;
    // The survivor's JetStream notices the lost quorum after its raft timeouts.
    await waitFor(async () => (await fetch(`${watched()[0].monitorUrl}/healthz`)).ok === false, 90_000, () => "node 0's /healthz stayed ok with two of three nodes gone");
    const noticedMs = Math.round(performance.now() - stopped);
    const health = await natsInfra(["health", "--stack", stack.stack]);
    const status = await natsInfra(["status", "--stack", stack.stack]);
    console.log(`engine: two of three hosts lost; node 0's /healthz not ok ${noticedMs} ms after their engines stopped:\n$ nats-infra health (exit ${health.status})\n${health.stdout}${health.stderr}\n$ nats-infra status (exit ${status.status})\n${status.stdout}${status.stderr}`);
    await Promise.all(others.map((host) => host.startEngine()));
    for (const i of [1, 2]) await waitFor(async () => (await fetch(`${watched()[i].monitorUrl}/healthz`).catch(() => undefined))?.ok === true, 120_000, () => `node ${i} did not become healthy after its engine started`);
    await traffic.publisher.untilAcked(traffic.publisher.acked.length + 50);
    const report = await traffic.end();
    console.log(`engine: two hosts back; ${traffic.publisher.acked.length - ackedBefore} acknowledged since; ${report.summary}`);
    // The survivor answers, not current; the other two do not answer at all; and the loss is named.
    expect(health.stdout).toMatch(/^nats-0\s+local\s+503 /m);
    const quorumLost = /^quorum lost: 1 of 3 nodes answers and JetStream needs 2 \(a majority\)\. .*Not answering: nats-1, nats-2\.$/m;
    expect(health.stdout).toMatch(quorumLost);
    expect(status.stdout).toMatch(/^ {2}quorum lost: 1 of 3 nodes answers/m);
    expect(health.status).toBe(1);
    expect(status.status).toBe(1);
    for (const lost of ["nats-1", "nats-2"]) {
      expect(health.stdout).toContain(lost);
      expect(status.stdout).toContain(lost);
    }
    expect(report.lostAcked).toEqual([]);
    await stack.expectNoChanges();
  });

  test("npm run down, then nats-infra clean: the containers, data volumes and config directories go on every host, each named with its host", async () => {
    await stack.npmOk("down", ["--yes"]);
    const kept = [dockerOk(["volume", "ls", "-q", "--filter", `name=^${stack.prefix}`]), ...others.map((h) => h.docker(["volume", "ls", "-q", "--filter", `name=^${stack.prefix}`]))];
    expect(kept.every((volumes) => volumes !== ""), "npm run down keeps every host's JetStream volume").toBe(true);
    const clean = await natsInfra(["clean", "--stack", stack.stack, "--yes"], 300_000);
    console.log(`engine: nats-infra clean across 3 hosts (exit ${clean.status}):\n${clean.stdout}${clean.stderr}`);
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    for (const host of others) expect(clean.stdout).toContain(host.dockerHost);
    expect(dockerOk(["volume", "ls", "-q", "--filter", `name=^${stack.prefix}`])).toBe("");
    expect(dockerOk(["ps", "-aq", "--filter", `name=^${stack.prefix}`])).toBe("");
    for (const [i, host] of others.entries()) {
      expect(host.docker(["volume", "ls", "-q", "--filter", `name=^${stack.prefix}`])).toBe("");
      expect(host.docker(["ps", "-aq", "--filter", `name=^${stack.prefix}`])).toBe("");
      expect(existsSync(path.join(REMOTE_CONFIG_ROOT, stack.prefix, `config-${i + 1}`))).toBe(false);
    }
  });
});

/**
 * Takes node i's host away under steady clients for 15 s, then starts its engine again: the
 * others keep acknowledging, the node comes back by its restart policy (unless-stopped), routes
 * to both others again, its replicas catch up, and nothing acknowledged is lost.
 */
async function loseOneHost(i: number, how: string, lose: (host: SecondHost) => Promise<void>): Promise<void> {
  const lost = others[i - 1];
  const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
  await traffic.publisher.untilAcked(traffic.publisher.acked.length + 50);
  const losing = performance.now();
  await lose(lost);
  const lostMs = Math.round(performance.now() - losing);
  const beforeOutage = traffic.publisher.acked.length;
  await sleep(15_000);
  const duringOutage = traffic.publisher.acked.length - beforeOutage;
  const starting = performance.now();
  await lost.startEngine();
  await waitFor(async () => (await fetch(`${watched()[i].monitorUrl}/healthz`).catch(() => undefined))?.ok === true, 120_000, () => `node ${i} did not answer /healthz after its engine started`);
  const backMs = Math.round(performance.now() - starting);
  await waitFor(async () => {
    const routez = await monitor<{ routes: { remote_name?: string }[] }>(i, "routez").catch(() => ({ routes: [] }));
    return new Set(routez.routes.map((r) => r.remote_name)).size === 2;
  }, 60_000, () => `node ${i} did not route to the other two again`);
  await traffic.publisher.untilAcked(traffic.publisher.acked.length + 50);
  const report = await traffic.end();
  console.log(`engine: host of node ${i} ${how} (${lostMs} ms), ${duringOutage} messages acknowledged in the 15 s without it, back and healthy ${backMs} ms after its engine started; ${report.summary}`);
  expect(duringOutage).toBeGreaterThan(0);
  expect(report.lostAcked).toEqual([]);
  expect(report.closedEarly).toEqual([]);
  const access = accessFromOutputs(await stack.outputs());
  const nc = await connect({ servers: access.servers, ...access.admin });
  try {
    const jsm = await jetstreamManager(nc);
    await waitFor(async () => {
      const replicas = (await jsm.streams.info(DEV_TRAFFIC.stream)).cluster?.replicas ?? [];
      return replicas.length === 2 && replicas.every((r) => r.current);
    }, 60_000, () => `${DEV_TRAFFIC.stream}'s replicas did not all catch up`);
  } finally {
    await nc.close();
  }
  await stack.expectNoChanges();
}

/** `npx nats-infra <args>` in the stack's project, as its user runs it. */
function natsInfra(args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("npx", ["nats-infra", ...args], { cwd: stack.dir, env: stack.environment, encoding: "utf8", timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** `text` as a literal inside a RegExp. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Messages in the steady traffic's stream, as its leader reports them. */
async function streamMessages(): Promise<number> {
  const access = accessFromOutputs(await stack.outputs());
  const nc = await connect({ servers: access.servers, ...access.admin });
  try {
    return (await (await jetstreamManager(nc)).streams.info(DEV_TRAFFIC.stream)).state.messages;
  } finally {
    await nc.close();
  }
}
