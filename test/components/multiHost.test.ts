// A cluster across Docker hosts under Pulumi mocks: node 0 on the host of Pulumi's own Docker
// provider (the machine running Pulumi), nodes 1 and 2 on two other hosts (ssh:// dockerHost).
// What each host gets (a Docker provider, the image, a network), that every node's resources use
// its host's provider, the remote config commands (SSH connection from the dockerHost, the script
// copied there, everything on secret stdin), the route port published on each node's address with
// route TLS mounted, the rollout across hosts, and what config refuses. Without other hosts or
// SSH: the remote command's create and delete run here the way the provider runs them (a shell,
// its stdin, no environment) against a stand-in docker, and the rollout's docker commands against
// a stand-in that records DOCKER_HOST.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { rollout } from "../../cli/rollout";
import { FRAME_MARKER } from "../../components/configCommand";
import { hostKey } from "../../components/dockerHosts";
import { parseRolloutStdin, RUNNING_SETTINGS_FILE, type RolloutStdin } from "../../components/rolloutContract";
import { readStackFile } from "../../config/load";
import { startFakeHealthz, type FakeHealthz } from "../ops/fakeHealthz";
import { isSecretWrapper, plaintextOccurrences, runProgram, unwrapSecrets, type ProgramRun, type RecordedResource } from "../harness/pulumiMocks";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const PROVIDER = "pulumi:providers:docker";
const REMOTE_COMMAND = "command:remote:Command";
const LOCAL_COMMAND = "command:local:Command";
const COPY = "command:remote:CopyToRemote";

const DEV = readStackFile(DEV_STACK_FIXTURE);
/** Stand-in key material: what matters is that it never shows outside a secret. */
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest-only-not-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY_6 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0fakefakefakefakefakefakefakefakefakefakefake";
const TLS = { cert: "/etc/nats-infra/route-cert.pem", key: "/etc/nats-infra/route-key.pem", ca: "/etc/nats-infra/route-ca.pem" };
const HOST_1 = "ssh://admin@10.0.0.6";
const HOST_2 = "ssh://deploy@10.0.0.7:2222";
const NODES = [{ address: "10.0.0.5" }, { address: "10.0.0.6", dockerHost: HOST_1 }, { address: "10.0.0.7", dockerHost: HOST_2 }];
const CLUSTER = { nodes: NODES, tls: TLS, ssh: { privateKey: PRIVATE_KEY, hostKeys: { "10.0.0.6": HOST_KEY_6 } } };
const ACROSS = { ...DEV, cluster: CLUSTER };
const SUFFIXES = ["", "-1", "-2"];
const KEYS = [hostKey(HOST_1), hostKey(HOST_2)];
const REMOTE_BASE = "/var/lib/nats-infra/nats-infra/config";
const REMOTE_SCRIPT = "/var/lib/nats-infra/nats-infra/nats-infra-apply-config.sh";

const plain = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
const dependsOn = (r: RecordedResource, name: string) => r.options.dependencies.some((urn) => urn.endsWith(`::${name}`));

interface Run extends ProgramRun {
  /** The provider reference each resource was registered with ("" for the default provider). */
  providerOf(name: string): string;
}

/** runProgram, also recording each resource's provider reference (`<provider urn>::<id>`). */
async function runWithProviders(raw: Record<string, unknown>): Promise<Run> {
  const providers = new Map<string, string>();
  const run = await runProgram(raw, {
    async program() {
      const sdk = await import("@pulumi/pulumi");
      const monitor = sdk.runtime.getMonitor() as unknown as { registerResource(req: { getName(): string; getProvider(): string }, cb: unknown): unknown };
      const register = monitor.registerResource.bind(monitor);
      monitor.registerResource = (req, cb) => {
        providers.set(req.getName(), req.getProvider());
        return register(req, cb);
      };
      return (await import("../../index")) as Record<string, unknown>;
    },
  });
  return { ...run, providerOf: (name) => providers.get(name) ?? "(not registered)" };
}

/** The entries of a framed stdin, in order. */
function frameEntries(stdin: string): [string, string][] {
  const newline = stdin.indexOf("\n");
  const [marker, version, ...sizes] = stdin.slice(0, newline).split(" ");
  expect(`${marker} ${version}`).toBe(FRAME_MARKER);
  const body = Buffer.from(stdin.slice(newline + 1), "utf8");
  const entries: [string, string][] = [];
  let offset = 0;
  for (let i = 0; i < sizes.length; i += 2) {
    const size = Number(sizes[i + 1]);
    entries.push([sizes[i], body.subarray(offset, offset + size).toString("utf8")]);
    offset += size;
  }
  expect(offset).toBe(body.length);
  return entries;
}

/** The local file a CopyToRemote copies (a FileAsset's path is a promise). */
const scriptSource = (copy: RecordedResource): Promise<string> => (copy.inputs.source as { path: Promise<string> }).path;

/** Config refusal: the RunError's message. */
async function refusal(raw: Record<string, unknown>): Promise<string> {
  const error = await runProgram(raw).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(pulumi.RunError.isInstance(error)).toBe(true);
  return (error as Error).message;
}

let across: Run;
beforeAll(async () => {
  across = await runWithProviders(ACROSS);
});

describe("Docker hosts: one provider per dockerHost", () => {
  test("each other host gets a Docker provider named from the component and its host, with the dockerHost as its host", () => {
    const providers = across.ofType(PROVIDER);
    expect(providers.map((p) => p.name)).toEqual(KEYS.map((key) => `nats-docker-${key}`));
    expect(KEYS).toEqual(["ssh-admin-10-0-0-6", "ssh-deploy-10-0-0-7-2222"]);
    expect(providers.map((p) => plain(p).host)).toEqual([HOST_1, HOST_2]);
  });

  test("node 0, on the default host, keeps the default provider and the names it always had", () => {
    for (const name of ["nats-nats", "nats-data", "nats-config", "nats-nats-image", "nats-network", "nats-surveyor", "nats-surveyor-image"]) {
      expect({ name, provider: across.providerOf(name) }).toEqual({ name, provider: "" });
    }
  });

  test("every resource of a node on another host uses that host's provider: image, network, volume, container", () => {
    [1, 2].forEach((i) => {
      const provider = across.byName(`nats-docker-${KEYS[i - 1]}`);
      for (const name of [`nats-nats-image-${KEYS[i - 1]}`, `nats-network-${KEYS[i - 1]}`, `nats-data-${i}`, `nats-nats-${i}`]) {
        expect({ name, provider: across.providerOf(name).split("::")[3] }).toEqual({ name, provider: provider.name });
      }
      const container = across.byName(`nats-nats-${i}`);
      expect(dependsOn(container, `nats-nats-image-${KEYS[i - 1]}`)).toBe(true);
      expect(dependsOn(container, `nats-network-${KEYS[i - 1]}`)).toBe(true);
      expect(dependsOn(container, `nats-config-${i}`)).toBe(true);
      // The same network name on every host; the image the cluster runs, pulled on each.
      expect(plain(across.byName(`nats-network-${KEYS[i - 1]}`)).name).toBe("nats-infra-net");
      expect(plain(across.byName(`nats-nats-image-${KEYS[i - 1]}`)).name).toBe(plain(across.byName("nats-nats-image")).name);
    });
  });

  test("all nodes on other hosts: nothing on the default host; Surveyor runs beside node 0 with its provider", async () => {
    const allRemote = await runWithProviders({ ...ACROSS, cluster: { ...CLUSTER, nodes: [{ ...NODES[0], dockerHost: "ssh://admin@10.0.0.5" }, NODES[1], NODES[2]] } });
    expect(allRemote.ofType(PROVIDER)).toHaveLength(3);
    const names = allRemote.resources.map((r) => r.name);
    expect(names).not.toContain("nats-nats-image");
    expect(names).not.toContain("nats-network");
    const node0Provider = "nats-docker-ssh-admin-10-0-0-5";
    for (const name of ["nats-nats", "nats-data", "nats-surveyor", "nats-surveyor-image"]) expect(allRemote.providerOf(name).split("::")[3]).toBe(node0Provider);
    expect(plain(allRemote.byName("nats-surveyor")).networksAdvanced).toEqual([{ name: "nats-infra-net" }]);
    expect(allRemote.byName("nats-config").type).toBe(REMOTE_COMMAND);
  });

  test("a cluster on one host declares no provider and publishes no route port", async () => {
    const oneHost = await runWithProviders({ ...DEV, cluster: { nodes: 3 } });
    expect(oneHost.ofType(PROVIDER)).toEqual([]);
    expect(oneHost.ofType(REMOTE_COMMAND)).toEqual([]);
    for (const suffix of SUFFIXES) expect(oneHost.providerOf(`nats-nats${suffix}`)).toBe("");
    for (const suffix of SUFFIXES) expect((plain(oneHost.byName(`nats-nats${suffix}`)).ports as unknown[]).length).toBe(2);
  });
});

describe("containers across hosts", () => {
  test("client, monitoring and route ports publish on the node's address; the route port is cluster.routePort", () => {
    const published = SUFFIXES.map((suffix) => (plain(across.byName(`nats-nats${suffix}`)).ports as { internal: number; external: number; ip: string }[]).map((p) => `${p.ip}:${p.external}->${p.internal}`));
    expect(published).toEqual([
      ["10.0.0.5:4222->4222", "10.0.0.5:8222->8222", "10.0.0.5:6222->6222"],
      ["10.0.0.6:4223->4222", "10.0.0.6:8223->8222", "10.0.0.6:6222->6222"],
      ["10.0.0.7:4224->4222", "10.0.0.7:8224->8222", "10.0.0.7:6222->6222"],
    ]);
  });

  test("the route TLS files are mounted in every node, from the same paths on each host; config directories on each host", () => {
    SUFFIXES.forEach((suffix, i) => {
      const mounts = (plain(across.byName(`nats-nats${suffix}`)).mounts as { source: string; target: string }[]).map((m) => `${m.source}:${m.target}`);
      expect(mounts.slice(1)).toEqual([`${TLS.cert}:/etc/nats-tls/route-cert.pem`, `${TLS.key}:/etc/nats-tls/route-key.pem`, `${TLS.ca}:/etc/nats-tls/route-ca.pem`]);
      // Node 0 on the machine running Pulumi: its local default; the others: the default on their host.
      expect(mounts[0]).toBe(i === 0 ? `${path.resolve(".nats-infra", "dev", "config")}:/etc/nats` : `${REMOTE_BASE}${suffix}:/etc/nats`);
    });
  });

  test("routes: each node's cluster.conf dials every node at its address and route port, with TLS both ways", () => {
    const [, cluster] = secretFiles(across.byName("nats-config-1"));
    for (const address of ["10.0.0.5", "10.0.0.6", "10.0.0.7"]) expect(cluster).toMatch(new RegExp(`nats://_route:[^@]+@${address.replace(/\./g, "\\.")}:6222`));
    expect(cluster).toContain('"ca_file": "/etc/nats-tls/route-ca.pem"');
    expect(cluster).toContain('"verify": true');
  });

  test("Surveyor, beside node 0, surveys every node at its published client URL", () => {
    const envs = plain(across.byName("nats-surveyor")).envs as string[];
    expect(envs).toContain("NATS_SURVEYOR_SERVERS=nats://10.0.0.5:4222,nats://10.0.0.6:4223,nats://10.0.0.7:4224");
    expect((plain(across.byName("nats-surveyor")).ports as { ip: string }[])[0].ip).toBe("10.0.0.5");
  });
});

/** auth.conf and cluster.conf from a config command's stdin (framed, local or remote). */
function secretFiles(command: RecordedResource): [string, string] {
  const entries = Object.fromEntries(frameEntries(plain(command).stdin));
  return [entries["auth.conf"], entries["cluster.conf"]];
}

describe("config delivery to other hosts", () => {
  test("node 0's config command stays local; nodes 1 and 2 get a remote command whose connection comes from their dockerHost", () => {
    expect(across.byName("nats-config").type).toBe(LOCAL_COMMAND);
    const connections = [1, 2].map((i) => {
      const command = across.byName(`nats-config-${i}`);
      expect(command.type).toBe(REMOTE_COMMAND);
      // Secret as a whole (it holds the key); the SDK adds its dial defaults.
      expect(isSecretWrapper(command.inputs.connection)).toBe(true);
      return plain(command).connection;
    });
    const dialDefaults = { dialErrorLimit: 10, perDialTimeout: 15 };
    expect(connections).toEqual([
      { host: "10.0.0.6", user: "admin", port: 22, privateKey: PRIVATE_KEY, hostKey: HOST_KEY_6, ...dialDefaults },
      { host: "10.0.0.7", user: "deploy", port: 2222, privateKey: PRIVATE_KEY, ...dialDefaults },
    ]);
  });

  test("the script is copied once per host, beside the config directories, and the command runs it from stdin", async () => {
    expect(across.ofType(COPY).map((c) => c.name).sort()).toEqual(KEYS.map((key) => `nats-apply-script-${key}`));
    for (const [i, key] of KEYS.entries()) {
      const copy = across.byName(`nats-apply-script-${key}`);
      expect(plain(copy).remotePath).toBe(REMOTE_SCRIPT);
      expect(await scriptSource(copy)).toBe(path.join(REPO_ROOT, "components", "apply-config.sh"));
      expect(plain(copy).connection).toEqual(plain(across.byName(`nats-config-${i + 1}`)).connection);
    }
    [1, 2].forEach((i) => {
      const command = across.byName(`nats-config-${i}`);
      const run = `bash '${REMOTE_SCRIPT}' from-stdin`;
      expect([plain(command).create, plain(command).update, plain(command).delete]).toEqual([run, run, `${run} delete`]);
      expect(dependsOn(command, `nats-apply-script-${KEYS[i - 1]}`)).toBe(true);
      // Validation runs the image on that host: it must be pulled there first.
      expect(dependsOn(command, `nats-nats-image-${KEYS[i - 1]}`)).toBe(true);
    });
  });

  test("everything the script needs is on the secret stdin: its variables (nothing in environment), then auth.conf and cluster.conf", () => {
    const script = readFileSync(path.join(REPO_ROOT, "components", "apply-config.sh"), "utf8");
    const accepted = /^STDIN_VARIABLES="([^"]+)"$/m.exec(script)![1].split(" ");
    const local = plain(across.byName("nats-config")).environment as Record<string, string>;
    [1, 2].forEach((i) => {
      const command = across.byName(`nats-config-${i}`);
      expect(command.inputs.environment).toBeUndefined();
      expect(plain(command).addPreviousOutputInEnv).toBe(false);
      expect(plain(command).logging).toBe("none");
      expect(isSecretWrapper(command.inputs.stdin)).toBe(true);
      const entries = frameEntries(plain(command).stdin);
      const names = entries.map(([name]) => name);
      expect(names.slice(-2)).toEqual(["auth.conf", "cluster.conf"]);
      const variables = Object.fromEntries(entries.slice(0, -2));
      // The script accepts every variable it is sent (a name it does not know would be refused).
      expect(Object.keys(variables).filter((name) => !accepted.includes(name))).toEqual([]);
      // The same variables a local command gets, less the permissions (plain, on node 0's), for this node.
      expect(Object.keys(variables).sort()).toEqual(Object.keys(local).filter((k) => !k.startsWith("NATS_PERMISSIONS_")).sort());
      expect(variables.CONFIG_DIR).toBe(`${REMOTE_BASE}-${i}`);
      expect(variables.NATS_CONTAINER).toBe(`nats-infra-nats-${i}`);
      expect(variables.MONITOR_URL).toBe(`http://10.0.0.${5 + i}:${8222 + i}`);
      expect(variables.VALIDATE_MOUNTS).toBe(local.VALIDATE_MOUNTS);
      expect(variables.NATS_CONF).toContain(`server_name: "nats-${i}"`);
    });
  });

  test("nothing secret in any plain input: passwords, hashes' passwords and the SSH key only inside secrets", () => {
    const needles = [...across.passwords, PRIVATE_KEY.split("\n")[1]];
    const leaks = across.resources.flatMap((r) => plaintextOccurrences(r.inputs, needles).map((p) => `${r.name}: ${p}`));
    expect(leaks).toEqual([]);
  });
});

describe("the rollout across hosts", () => {
  test("each node on another host carries its dockerHost; its health is reached at its address", () => {
    const stdin = parseRolloutStdin(plain(across.byName("nats-rollout")).stdin);
    expect(stdin.nodes.map((n) => [n.server, n.dockerHost, n.monitorUrl, n.configDir])).toEqual([
      ["nats-0", undefined, "http://10.0.0.5:8222", path.resolve(".nats-infra", "dev", "config")],
      ["nats-1", HOST_1, "http://10.0.0.6:8223", `${REMOTE_BASE}-1`],
      ["nats-2", HOST_2, "http://10.0.0.7:8224", `${REMOTE_BASE}-2`],
    ]);
    for (const i of [1, 2]) expect(dependsOn(across.byName("nats-rollout"), `nats-config-${i}`)).toBe(true);
  });

  describe("cli/rollout.ts against a stand-in docker that records DOCKER_HOST, and /healthz stand-ins", () => {
    // The stand-in keeps one directory per container for its config mount; `cp` reads and writes
    // records there as tar, the way the Docker daemon does for the real mount.
    let dir: string;
    let health: FakeHealthz;
    let savedPath: string | undefined;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "nats-infra-multihost-rollout-"));
      mkdirSync(path.join(dir, "bin"));
      writeFileSync(
        path.join(dir, "bin", "docker"),
        [
          "#!/bin/sh",
          `state='${dir}/state'`,
          `echo "DOCKER_HOST=\${DOCKER_HOST:-} $*" >>'${dir}/docker.log'`,
          'case "$1" in',
          '  cp) if [ "$2" = - ]; then tar -x -C "$(cat "$state/${3%%:*}")"; else c="${2%%:*}"; f="$state/mount-$c/.running-settings-key";',
          '      [ -f "$f" ] || { echo "Error response from daemon: Could not find the file /etc/nats/.running-settings-key in container $c" >&2; exit 1; }',
          '      tar -C "$state/mount-$c" -cf - .running-settings-key; fi ;;',
          '  inspect) echo sha256:nats-image ;;',
          '  create) shift; while [ "$1" != --name ]; do shift; done; name="$2"; while [ "$1" != -v ]; do shift; done; echo "$state/mount-${name%-settings-record}" >"$state/$name" ;;',
          '  rm) rm -f "$state/$3" ;;',
          "esac",
          "exit 0",
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      health = await startFakeHealthz({ "nats-0": "ok", "nats-1": "ok", "nats-2": "ok" });
      savedPath = process.env.PATH;
      process.env.PATH = `${path.join(dir, "bin")}:${process.env.PATH}`;
    });
    afterAll(async () => {
      process.env.PATH = savedPath;
      await health.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("restarts the stale remote node with docker at its host, reads and writes its record there; a rerun restarts nothing", async () => {
      const declared = parseRolloutStdin(plain(across.byName("nats-rollout")).stdin);
      const stdin: RolloutStdin = {
        graceSeconds: 45,
        nodes: declared.nodes.map((node, i) => ({ ...node, monitorUrl: health.monitorUrl(`nats-${i}`), configDir: path.join(dir, `config-${i}`) })),
      };
      const mount = (i: number) => path.join(dir, "state", `mount-${stdin.nodes[i].container}`);
      // Node 0 (local) and node 2 run the desired settings; node 1, on 10.0.0.6, runs older ones.
      mkdirSync(stdin.nodes[0].configDir, { recursive: true });
      writeFileSync(path.join(stdin.nodes[0].configDir, RUNNING_SETTINGS_FILE), `${stdin.nodes[0].settingsKey}\n`);
      mkdirSync(mount(1), { recursive: true });
      writeFileSync(path.join(mount(1), RUNNING_SETTINGS_FILE), "older-settings\n");
      mkdirSync(mount(2), { recursive: true });
      writeFileSync(path.join(mount(2), RUNNING_SETTINGS_FILE), `${stdin.nodes[2].settingsKey}\n`);

      const lines: string[] = [];
      await rollout(stdin, { out: (t) => void lines.push(t), err: (t) => void lines.push(t) });

      const calls = readFileSync(path.join(dir, "docker.log"), "utf8").trim().split("\n");
      expect(calls.filter((c) => c.includes(" restart "))).toEqual([`DOCKER_HOST=${HOST_1} restart -t 45 nats-infra-nats-1`]);
      // Records of remote nodes were read through docker at their host, none of the local node.
      // The records are read in parallel, so their order in the log is not fixed.
      expect(calls.filter((c) => c.includes(" cp nats-infra-nats")).sort()).toEqual([
        `DOCKER_HOST=${HOST_1} cp nats-infra-nats-1:/etc/nats/${RUNNING_SETTINGS_FILE} -`,
        `DOCKER_HOST=${HOST_2} cp nats-infra-nats-2:/etc/nats/${RUNNING_SETTINGS_FILE} -`,
      ]);
      // Written by a helper that mounts node 1's config directory on its host, then removed.
      expect(calls).toContain(`DOCKER_HOST=${HOST_1} create --name nats-infra-nats-1-settings-record --network none -v ${stdin.nodes[1].configDir}:/record sha256:nats-image`);
      expect(calls).toContain(`DOCKER_HOST=${HOST_1} cp - nats-infra-nats-1-settings-record:/record`);
      expect(readFileSync(path.join(mount(1), RUNNING_SETTINGS_FILE), "utf8")).toBe(`${stdin.nodes[1].settingsKey}\n`);
      expect(existsSync(path.join(dir, "state", "nats-infra-nats-1-settings-record"))).toBe(false);
      expect(lines.join("")).toContain("nats-1 (nats-infra-nats-1): runs settings older-settings");

      rmSync(path.join(dir, "docker.log"));
      await rollout(stdin, { out: () => undefined, err: () => undefined });
      expect(readFileSync(path.join(dir, "docker.log"), "utf8")).not.toContain(" restart ");
    });
  });
});

describe("apply-config.sh as the remote command runs it: a shell, its stdin, no environment", () => {
  // The same stand-in docker as test/components/cluster.test.ts (inspect answers "no container",
  // validation passes, every call logged), its log path written into it: the command gets no
  // environment but what an SSH login has (PATH).
  let dir: string;
  let run: Run;
  let bin: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nats-infra-remote-apply-"));
    bin = path.join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho "$*" >>'${dir}/docker.log'\ncase "$1" in\n  inspect) exit 1 ;;\nesac\nexit 0\n`, { mode: 0o755 });
    // docker.configDir is the base on every host: here, a directory this test owns.
    run = await runWithProviders({ ...ACROSS, docker: { configDir: path.join(dir, "host", "config") } });
    // What CopyToRemote does: the script at its remote path.
    const copy = run.byName(`nats-apply-script-${KEYS[0]}`);
    mkdirSync(path.dirname(plain(copy).remotePath), { recursive: true });
    copyFileSync(await scriptSource(copy), plain(copy).remotePath);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `sh -c <command>` with the declared stdin and only PATH (plus `env`) in the environment. */
  function asProvider(command: string, stdin: string, env: Record<string, string> = {}) {
    return spawnSync("/bin/sh", ["-c", command], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, input: stdin, encoding: "utf8" });
  }

  test("create installs node 1's files in its directory on the host and validates them with the image there; delete removes them", () => {
    const command = plain(run.byName("nats-config-1"));
    const entries = Object.fromEntries(frameEntries(command.stdin));
    const configDir = path.join(dir, "host", "config-1");
    expect(entries.CONFIG_DIR).toBe(configDir);

    const created = asProvider(command.create, command.stdin);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toContain("is not running and reads it when it starts");
    expect(readFileSync(path.join(configDir, "nats.conf"), "utf8")).toBe(entries.NATS_CONF);
    expect(readFileSync(path.join(configDir, "auth.conf"), "utf8")).toBe(entries["auth.conf"]);
    expect(readFileSync(path.join(configDir, "cluster.conf"), "utf8")).toBe(entries["cluster.conf"]);
    expect(readFileSync(path.join(configDir, RUNNING_SETTINGS_FILE), "utf8")).toBe(`${entries.SETTINGS_KEY}\n`);
    const calls = readFileSync(path.join(dir, "docker.log"), "utf8").trim().split("\n");
    expect(calls[0]).toBe(`inspect -f {{.State.Running}} {{index .Config.Labels "nats-infra.restart-key"}} nats-infra-nats-1`);
    // Validation: the image on that host, the staged files and the route TLS files mounted.
    const validation = calls.find((c) => c.startsWith("run --rm --network none"))!;
    expect(validation).toContain(`-v ${configDir}/.next:/etc/nats:ro`);
    expect(validation).toContain(`-v ${TLS.cert}:/etc/nats-tls/route-cert.pem:ro`);
    expect(validation).toMatch(new RegExp(`${entries.NATS_IMAGE.replace(/[.]/g, "\\.")} -t -c /etc/nats/nats\\.conf$`));

    const deleted = asProvider(command.delete, command.stdin);
    expect(deleted.status).toBe(0);
    for (const file of ["nats.conf", "auth.conf", "cluster.conf", RUNNING_SETTINGS_FILE]) expect(existsSync(path.join(configDir, file))).toBe(false);
  });

  test("variables in the login's environment are ignored: only stdin counts", () => {
    const command = plain(run.byName("nats-config-2"));
    const configDir = path.join(dir, "host", "config-2");
    const result = asProvider(command.create, command.stdin, { CONFIG_DIR: path.join(dir, "elsewhere"), NATS_CONF: "garbage", AUTH_CONF: "garbage" });
    expect(result.status).toBe(0);
    expect(existsSync(path.join(dir, "elsewhere"))).toBe(false);
    expect(readFileSync(path.join(configDir, "auth.conf"), "utf8")).toBe(Object.fromEntries(frameEntries(command.stdin))["auth.conf"]);
  });

  test("a stdin that is not framed, or names a variable the script does not take, is refused before anything is installed", () => {
    const command = plain(run.byName("nats-config-1"));
    const stdin = command.stdin as string;
    const newline = stdin.indexOf("\n");
    const refusals: [string, string, RegExp][] = [
      ["unframed", Object.fromEntries(frameEntries(stdin))["auth.conf"], /from-stdin: stdin must start with a '#nats-infra-files v1' line/],
      ["PATH", `${stdin.slice(0, newline)} PATH 4${stdin.slice(newline)}/tmp`, /names PATH; only auth\.conf, cluster\.conf and the variables NATS_CONF/],
    ];
    for (const [name, input, message] of refusals) {
      rmSync(path.join(dir, "host", "config-1"), { recursive: true, force: true });
      const result = asProvider(command.create, input);
      expect({ name, status: result.status, stderr: result.stderr }).toEqual({ name, status: 1, stderr: expect.stringMatching(message) });
      expect(existsSync(path.join(dir, "host", "config-1", "auth.conf"))).toBe(false);
    }
  });
});

describe("what config refuses across hosts", () => {
  test("no cluster.tls: refused by config with the key at fault, before any resource exists", async () => {
    const message = await refusal({ ...ACROSS, cluster: { ...CLUSTER, tls: undefined } });
    expect(message).toMatch(/nats-infra:cluster\.tls: routes between Docker hosts cross the network: give cluster\.tls/);
  });

  test("a tcp:// Docker host, an ssh:// one without a user, and one host spelled two ways are refused", async () => {
    const nodes = [NODES[0], { address: "10.0.0.6", dockerHost: "tcp://10.0.0.6:2376" }, { address: "10.0.0.7", dockerHost: "ssh://10.0.0.7" }, { address: "10.0.0.8", dockerHost: "ssh://admin@10.0.0.8" }, { address: "10.0.0.9", clientPort: 4300, monitorPort: 8300, dockerHost: "ssh://root@10.0.0.8:22" }];
    const message = await refusal({ ...ACROSS, cluster: { ...CLUSTER, nodes } });
    expect(message).toMatch(/cluster\.nodes\[1\]\.dockerHost: nats-infra delivers a node's config files over SSH, which a tcp:\/\/ Docker host does not offer/);
    expect(message).toMatch(/cluster\.nodes\[2\]\.dockerHost: give the SSH user, e\.g\. ssh:\/\/admin@10\.0\.0\.7/);
    expect(message).toMatch(/cluster\.nodes\[4\]\.dockerHost: ssh:\/\/root@10\.0\.0\.8:22 and ssh:\/\/admin@10\.0\.0\.8 name the same Docker host/);
  });

  test("cluster.ssh: key and agent together, a host key for no node's host, or ssh without any ssh:// node are refused, never echoing the key", async () => {
    const both = await refusal({ ...ACROSS, cluster: { ...CLUSTER, ssh: { privateKey: PRIVATE_KEY, agentSocket: "/run/agent.sock", hostKeys: { "10.0.0.99": HOST_KEY_6 } } } });
    expect(both).toMatch(/cluster\.ssh\.agentSocket: give cluster\.ssh\.privateKey or cluster\.ssh\.agentSocket, not both/);
    expect(both).toMatch(/cluster\.ssh\.hostKeys\["10\.0\.0\.99"\]: no node's dockerHost is on 10\.0\.0\.99/);
    const unused = await refusal({ ...DEV, cluster: { nodes: 3, ssh: { privateKey: PRIVATE_KEY } } });
    expect(unused).toMatch(/cluster\.nodes: cluster\.ssh is set, but no node has an ssh:\/\/ dockerHost/);
    for (const message of [both, unused]) expect(message).not.toContain(PRIVATE_KEY.split("\n")[1]);
  });
});
