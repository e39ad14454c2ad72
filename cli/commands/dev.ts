// `nats-infra dev`: runs a stack file on this host with the pinned nats-server, no Docker and no
// Pulumi (ops/devServer.ts), prints where everything is, applies every save of the stack file,
// and stops with lame duck on Ctrl-C (a second Ctrl-C stops at once).
import { existsSync, watch } from "node:fs";
import path from "node:path";
import { parseFlags, UsageError, type Output } from "../args";
import { EXIT, type Command } from "../command";
import { StackConfigError } from "../../config/load";
import { DevServer } from "../../ops/devServer";
import { DEFAULT_DEV_STATE_DIR } from "../../ops/target";
import { REPO_ROOT } from "../operate";

const USAGE = `usage: npx nats-infra dev [--stack-file Pulumi.dev.yaml] [--state-dir .nats-infra/dev-server] [--no-watch]

Runs the stack on this host with .tools/bin/nats-server (npm run tools builds it): one process per
node of nats-infra:cluster, rendered for this host into the state directory, where passwords are
kept across restarts. The stack's streams, KV buckets and object stores are applied. Every save
of the stack file is checked and applied by a reload (or, for settings nats-server cannot reload, a restart one node at a
time); an edit with errors is refused and the servers keep serving. Ctrl-C stops with lame duck.

  --stack-file  the stack config (default Pulumi.dev.yaml)
  --state-dir   rendered files, credentials.json, JetStream data and logs (default .nats-infra/dev-server)
  --no-watch    apply the stack file once and keep serving, without watching it

exit codes: 0 stopped by Ctrl-C, 1 a server failed, 2 bad usage or config, 3 nats-server missing or a port taken`;

export const command: Command = {
  name: "dev",
  summary: "run a stack file on this host with the pinned nats-server (no Docker, no Pulumi), applying every edit",
  usage: USAGE,
  async run(argv: string[], output: Output): Promise<number> {
    let flags: Record<string, string | boolean>;
    try {
      flags = parseFlags(argv, { strings: ["stack-file", "state-dir"], booleans: ["no-watch", "help"] });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      output.err(`error: ${error.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (flags.help) return output.out(`${USAGE}\n`), EXIT.ok;
    const stackFile = path.resolve(typeof flags["stack-file"] === "string" ? flags["stack-file"] : "Pulumi.dev.yaml");
    const stateDir = path.resolve(typeof flags["state-dir"] === "string" ? flags["state-dir"] : DEFAULT_DEV_STATE_DIR);
    const binary = path.join(REPO_ROOT, ".tools", "bin", "nats-server");
    if (!existsSync(stackFile)) return fail(output, EXIT.usage, `no stack file at ${stackFile}; pass --stack-file Pulumi.<stack>.yaml`);
    if (!existsSync(binary)) return fail(output, EXIT.unreachable, `${binary} is missing: run \`npm run tools\` (needs Go) to build the pinned nats-server`);

    const say = (line: string) => output.out(`${line}\n`);
    let server: DevServer;
    try {
      server = await DevServer.start({ stackFile, stateDir, binary, log: say });
    } catch (error) {
      if (error instanceof StackConfigError) return fail(output, EXIT.usage, error.message);
      const message = error instanceof Error ? error.message : String(error);
      return fail(output, /address already in use|still running/.test(message) ? EXIT.unreachable : EXIT.problem, message);
    }
    printEndpoints(server, stackFile, output);

    const stopWatching = flags["no-watch"] ? () => undefined : watchStackFile(stackFile, server, say);
    say("ready");
    return new Promise<number>((resolve) => {
      let stopping = false;
      let firstAt = 0;
      const onInterrupt = () => {
        // npm exec passes on the terminal's Ctrl-C, so one key press can arrive twice.
        if (stopping && Date.now() - firstAt < 1000) return;
        if (stopping) {
          say("stopping now");
          void server.kill().then(() => resolve(EXIT.ok));
          return;
        }
        stopping = true;
        firstAt = Date.now();
        stopWatching();
        say("lame duck: moving clients away before the servers exit (Ctrl-C again to stop now)");
        void server.stop().then(() => {
          process.off("SIGINT", onInterrupt);
          process.off("SIGTERM", onInterrupt);
          say("stopped");
          resolve(EXIT.ok);
        });
      };
      process.on("SIGINT", onInterrupt);
      process.on("SIGTERM", onInterrupt);
    });
  },
};

function fail(output: Output, code: number, message: string): number {
  output.err(`error: ${message}\n`);
  return code;
}

function printEndpoints(server: DevServer, stackFile: string, output: Output): void {
  const here = (file: string) => path.relative(process.cwd(), file) || file;
  const { client, monitor, nodes } = server.endpoints;
  output.out(
    [
      `nats-infra dev: ${here(stackFile)} on this host (${nodes?.length ?? 1} ${nodes ? "servers" : "server"})`,
      `  clients:     ${client}`,
      `  monitoring:  ${nodes ? nodes.map((n) => n.monitor).join(" ") : monitor}`,
      `  credentials: ${here(server.credentialsFile)} (per user: user, password, account, url)`,
      `  logs:        ${here(server.options.stateDir)}/**/nats-server.log`,
      "",
    ].join("\n"),
  );
}

/** Applies each save, one at a time; editors that replace the file (rename) are followed too. */
function watchStackFile(stackFile: string, server: DevServer, say: (line: string) => void): () => void {
  say(`watching ${path.basename(stackFile)}: each save is checked and applied; Ctrl-C stops`);
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const watcher = watch(path.dirname(stackFile), (_, file) => {
    if (file !== path.basename(stackFile)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        try {
          const outcome = await server.apply();
          if (outcome !== "unchanged") say(`applied ${path.basename(stackFile)}: ${outcome}`);
        } catch (error) {
          say(`error while applying: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
    }, 200);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
