// `nats-infra dev`: runs a stack file on this host with the pinned nats-server, no Docker and no
// Pulumi (ops/devServer.ts), prints where everything is, applies every save of the stack file,
// and stops with lame duck on Ctrl-C, SIGTERM, SIGHUP or when its parent goes away (a second
// signal stops at once).
import { existsSync, watch } from "node:fs";
import path from "node:path";
import { parseFlags, UsageError, type Output } from "../args";
import { EXIT, type Command } from "../command";
import { StackConfigError } from "../../config/load";
import { DevMonitoring, DevMonitoringUnavailable, findPrometheus } from "../../ops/devMonitoring";
import { DevServer, PortTakenError } from "../../ops/devServer";
import { DEFAULT_DEV_STATE_DIR } from "../../ops/target";
import { REPO_ROOT } from "../operate";

const USAGE = `usage: npx nats-infra dev [--stack-file Pulumi.dev.yaml] [--state-dir .nats-infra/dev-server] [--no-watch]
                        [--monitoring [--surveyor-port N] [--prometheus-port N]]

Runs the stack on this host with .tools/bin/nats-server (npm run tools builds it): one process per
node of nats-infra:cluster, rendered for this host into the state directory, where passwords are
kept across restarts. Every port of every node (client, monitoring, route) must be free: a taken
one is named with its node, its stack file key and who holds it, and nothing starts. The stack's
streams, KV buckets and object stores are applied. Every save of the stack file is checked and
applied by a reload (or, for settings nats-server cannot reload, a restart one node at a time),
and says what it changed (+ user billing, ~ permissions of user-service, + stream ORDERS,
restart of nats-0 (jetstream.syncInterval)); an edit with errors is refused and the servers keep
serving.

Stops with lame duck (clients are moved away, then the servers exit) on Ctrl-C, SIGTERM or SIGHUP,
and when the process that started it goes away (how a SIGTERM to npx or npm run reaches it); a
second Ctrl-C or signal stops at once. Its pid: the line "nats-infra dev (pid N)", and <state-dir>/dev.json.

  --stack-file  the stack config (default Pulumi.dev.yaml)
  --state-dir   rendered files, credentials.json, JetStream data and logs (default .nats-infra/dev-server)
  --no-watch    apply the stack file once and keep serving, without watching it
  --monitoring  also run NATS Surveyor (.tools/bin/nats-surveyor), the exporter of refused logins
                (.tools/bin/nats-infra-auth-events) and Prometheus (\`prometheus\` on PATH)
                with the stack's generated rules, on 127.0.0.1 (docs/monitoring.md); stopped with the servers
  --surveyor-port, --prometheus-port
                their ports (default docker.surveyor.port and monitoring.prometheus.port; 0: a free one)

exit codes: 0 stopped (a signal, or its parent gone), 1 a server failed, 2 bad usage or config,
3 nats-server missing or a port taken.
Through npx or npm run, npm's status is not the dev server's: npm runs it under sh -c, which
re-raises the Ctrl-C it received once the dev server has stopped, so npm ends by SIGINT (130 in a
shell); a SIGTERM to npm ends npm at once (143) while the dev server stops on its own; a SIGINT to
npm alone is held by that sh and stops nothing. Run node cli/nats-infra.cjs dev for the codes above.`;

export const command: Command = {
  name: "dev",
  summary: "run a stack file on this host with the pinned nats-server (no Docker, no Pulumi), applying every edit",
  usage: USAGE,
  async run(argv: string[], output: Output): Promise<number> {
    let flags: Record<string, string | boolean>;
    try {
      flags = parseFlags(argv, { strings: ["stack-file", "state-dir", "surveyor-port", "prometheus-port"], booleans: ["no-watch", "monitoring", "help"] });
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
    const monitoringArgs = flags.monitoring ? monitoringOptions(flags) : undefined;
    if (typeof monitoringArgs === "string") return fail(output, monitoringArgs.startsWith("--") ? EXIT.usage : EXIT.unreachable, monitoringArgs);

    const say = (line: string) => output.out(`${line}\n`);
    // A closed terminal or pipe (EPIPE, EIO) must not end this process before it stopped its servers.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    // Listening from the start: a signal during start-up stops the servers once they are up.
    const stopRequests = watchStopRequests();
    let server: DevServer;
    try {
      server = await DevServer.start({ stackFile, stateDir, binary, log: say, monitoring: monitoringArgs !== undefined });
    } catch (error) {
      stopRequests.close();
      if (error instanceof StackConfigError) return fail(output, EXIT.usage, error.message);
      if (error instanceof PortTakenError) return fail(output, EXIT.unreachable, error.message.replaceAll("\n", "\nerror: "));
      const message = error instanceof Error ? error.message : String(error);
      return fail(output, /address already in use|still running/.test(message) ? EXIT.unreachable : EXIT.problem, message);
    }
    let monitoring: DevMonitoring | undefined;
    if (monitoringArgs) {
      try {
        monitoring = await DevMonitoring.start({ ...monitoringArgs, stackFile, stateDir, log: say });
      } catch (error) {
        await server.stop();
        stopRequests.close();
        return fail(output, error instanceof DevMonitoringUnavailable ? EXIT.unreachable : EXIT.problem, error instanceof Error ? error.message : String(error));
      }
    }
    printEndpoints(server, stackFile, output, monitoring);

    const stopWatching = flags["no-watch"] ? () => undefined : watchStackFile(stackFile, server, say, monitoring);
    say("ready");
    return new Promise<number>((resolve) => {
      let stopping = false;
      let firstAt = 0;
      stopRequests.handle((reason, signal) => {
        // npm exec passes on the terminal's Ctrl-C, so one key press can arrive twice; and the
        // parent going away while the servers stop (npm ends on its SIGTERM) is no reason to hurry.
        if (stopping && (!signal || Date.now() - firstAt < 1000)) return;
        if (stopping) {
          say("stopping now");
          stopRequests.close();
          monitoring?.kill();
          void server.kill().then(() => resolve(EXIT.ok));
          return;
        }
        stopping = true;
        firstAt = Date.now();
        stopWatching();
        say(`${reason}: lame duck, moving clients away before the servers exit (${signal === "SIGINT" ? "Ctrl-C again" : "a second signal"} to stop now)`);
        // Prometheus and Surveyor first: they would record the servers going away as an outage.
        void (monitoring?.stop() ?? Promise.resolve()).then(() => server.stop()).then(() => {
          stopRequests.close();
          say("stopped");
          resolve(EXIT.ok);
        });
      });
    });
  },
};

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** `signal` when a signal asked: only a signal may hurry a stop already under way. */
type StopRequest = (reason: string, signal?: NodeJS.Signals) => void;
const PARENT_POLL_MS = 500;

/**
 * What stops the dev server: SIGINT (Ctrl-C), SIGTERM (kill, timeout, a supervisor), SIGHUP (its
 * terminal closed), or the process that started it going away. The last is how a signal to
 * `npx`/`npm run` reaches it: npm passes SIGTERM on to its `sh -c` wrapper only, which dies and
 * leaves this process to pid 1 (or a subreaper). A change of parent pid is the one sign of that
 * which needs no cooperation from the parent (stdin may be /dev/null, there may be no IPC
 * channel) and works the same under npx, npm run, a shell or a supervisor; it is polled, as no
 * event reports it. An IPC channel (a Node parent's fork()) closing counts too.
 * Requests before `handle` (during start-up) are kept and delivered to it.
 */
function watchStopRequests(): { handle(onRequest: StopRequest): void; close(): void } {
  let onRequest: StopRequest | undefined;
  const early: [string, NodeJS.Signals?][] = [];
  const request: StopRequest = (reason, signal) => (onRequest ? onRequest(reason, signal) : early.push([reason, signal]));
  const onSignal = (signal: NodeJS.Signals) => request(signal === "SIGINT" ? "SIGINT (Ctrl-C)" : signal, signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(parentWatch);
    request(`the process that started nats-infra dev (pid ${parent}) is gone`);
  }, PARENT_POLL_MS);
  const onDisconnect = () => request("the IPC channel to the process that started nats-infra dev closed");
  process.on("disconnect", onDisconnect);
  return {
    handle(handler) {
      onRequest = handler;
      for (const [reason, signal] of early.splice(0)) handler(reason, signal);
    },
    close() {
      clearInterval(parentWatch);
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      process.off("disconnect", onDisconnect);
    },
  };
}

function fail(output: Output, code: number, message: string): number {
  output.err(`error: ${message}\n`);
  return code;
}

/** The --monitoring flags checked: binaries and ports, or what is wrong (a usage error starts with --). */
function monitoringOptions(flags: Record<string, string | boolean>): { surveyorBinary: string; prometheusBinary: string; surveyorPort?: number; prometheusPort?: number } | string {
  const ports: { surveyorPort?: number; prometheusPort?: number } = {};
  for (const [flag, key] of [["surveyor-port", "surveyorPort"], ["prometheus-port", "prometheusPort"]] as const) {
    if (typeof flags[flag] !== "string") continue;
    const port = Number(flags[flag]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return `--${flag} takes a port number (0: a free one), not "${flags[flag]}"`;
    ports[key] = port;
  }
  const surveyorBinary = path.join(REPO_ROOT, ".tools", "bin", "nats-surveyor");
  if (!existsSync(surveyorBinary)) return `${surveyorBinary} is missing: run \`npm run tools\` (where go install of nats-surveyor is refused: \`NATS_INFRA_PREBUILT_BIN=../shared/bin npm run tools\`)`;
  const prometheusBinary = findPrometheus();
  if (!prometheusBinary) return "prometheus is not on PATH: `bash tools/install-prometheus.sh` installs Debian's package (2.42, the version the pinned image runs)";
  return { surveyorBinary, prometheusBinary, ...ports };
}

function printEndpoints(server: DevServer, stackFile: string, output: Output, monitoring?: DevMonitoring): void {
  const here = (file: string) => path.relative(process.cwd(), file) || file;
  const { client, monitor, nodes } = server.endpoints;
  output.out(
    [
      `nats-infra dev (pid ${process.pid}): ${here(stackFile)} on this host (${nodes?.length ?? 1} ${nodes ? "servers" : "server"})`,
      `  clients:     ${client}`,
      `  monitoring:  ${nodes ? nodes.map((n) => n.monitor).join(" ") : monitor}`,
      `  credentials: ${here(server.credentialsFile)} (per user: user, password, account, url)`,
      `  logs:        ${here(server.options.stateDir)}/**/nats-server.log`,
      ...(monitoring
        ? [
            `  surveyor:    ${monitoring.endpoints.surveyor}`,
            `  prometheus:  ${monitoring.endpoints.prometheus} (alerts: ${monitoring.endpoints.prometheus}/alerts, targets: ${monitoring.endpoints.prometheus}/targets)`,
            ...(monitoring.endpoints.authEvents ? [`  auth errors: ${monitoring.endpoints.authEvents} (refused logins per node and user)`] : []),
            `  rules:       ${here(monitoring.endpoints.rulesFile)} (generated from the stack file, reloaded on each save)`,
            `  their logs:  ${here(monitoring.endpoints.logs)}`,
          ]
        : []),
      "",
    ].join("\n"),
  );
}

/** What a save did, a line per change ("+ user billing", "! stream ORDERS refused ..."). */
function describeApplied(file: string, outcome: "reloaded" | "restarted", changes: string[]): string {
  const lines = changes.map((line) => `  ${line}`);
  if (changes.length === 0) return `applied ${file}: ${outcome}; no change to users, accounts, settings or streams`;
  if (changes.every((line) => line.startsWith("!"))) return [`${file}: nothing applied`, ...lines].join("\n");
  return [`applied ${file}: ${outcome}`, ...lines].join("\n");
}

/** Applies each save, one at a time; editors that replace the file (rename) are followed too. */
function watchStackFile(stackFile: string, server: DevServer, say: (line: string) => void, monitoring?: DevMonitoring): () => void {
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
          const file = path.basename(stackFile);
          // A refusal has said so itself, with its reasons.
          if (outcome === "back") say(`${file}: back to the running config, nothing to apply`);
          if (outcome === "reloaded" || outcome === "restarted") say(describeApplied(file, outcome, server.lastChanges));
          if (outcome === "reloaded" || outcome === "restarted") await monitoring?.refresh();
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
