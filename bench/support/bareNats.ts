// A bare nats-server for comparison: same binary, no auth, no limits, JetStream with the
// server's defaults, on free loopback ports. The config is serialised data (render/natsValue).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { natsTopLevel } from "../../render/natsValue";
import { sleep, waitFor } from "../../test/harness/natsServer";
import { freePort } from "../../test/harness/ports";
import { toolPath } from "../../test/harness/tools";

export interface BareNats {
  url: string;
  monitorUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startBareNats(): Promise<BareNats> {
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-bench-bare-"));
  const [clientPort, monitorPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, "nats.conf");
  writeFileSync(conf, natsTopLevel({ listen: `127.0.0.1:${clientPort}`, http: `127.0.0.1:${monitorPort}`, jetstream: { store_dir: path.join(dir, "jetstream") } }) + "\n");
  const child = spawn(toolPath("nats-server"), ["-c", conf], { stdio: "ignore" });
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000).then(() => child.kill("SIGKILL"))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${monitorUrl}/healthz`)).ok, 10_000, () => "bare nats-server did not become healthy");
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `nats://127.0.0.1:${clientPort}`, monitorUrl, pid: child.pid!, stop };
}
