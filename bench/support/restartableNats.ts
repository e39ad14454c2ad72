// A server started by test/harness/natsServer.ts startNats that can also be stopped and started
// again on the same ports, config files and JetStream store dir: what the old setup's
// `reset-auth` did to apply an auth change (a container restart), next to our reload.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { NATS_CONF_FILE } from "../../render/natsConf";
import { sleep, startNats, type RunningNats } from "../../test/harness/natsServer";
import { toolPath } from "../../test/harness/tools";

export class RestartableNats {
  /** The process serving now: startNats's child until the first restart, ours after. */
  private current: ChildProcess;
  private restarted = false;

  private constructor(readonly nats: RunningNats) {
    this.current = nats.process;
  }

  static async start(input: Record<string, unknown>): Promise<RestartableNats> {
    return new RestartableNats(await startNats(input));
  }

  /** SIGHUP: the server rereads its config files (our path). */
  reload(): void {
    this.current.kill("SIGHUP");
  }

  /** SIGTERM, wait for the exit, start the same binary on the same files (the old path). */
  async restart(): Promise<void> {
    await stopProcess(this.current);
    this.current = spawn(toolPath("nats-server"), ["-c", path.join(this.nats.dir, NATS_CONF_FILE)], { stdio: "ignore" });
    this.restarted = true;
  }

  async stop(): Promise<void> {
    if (this.restarted) await stopProcess(this.current);
    // Stops startNats's own child if it still runs, and removes the directory.
    await this.nats.stop();
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
  await exited;
}
