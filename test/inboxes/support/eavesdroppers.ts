// One eavesdropper, four clients: nats.js in this process, and natscli, nats-py and nats.go as
// the programs a person would run. Each subscribes to the given subjects as one user and keeps
// everything it hears and everything it prints, so a secret is found whatever the output format.
//
// natscli ends at the first permission violation, and nats-infra-goclient takes one subject per
// run, so those two run one process per subject; nats.js and nats-py keep one connection, where a
// refused subscription must leave the others listening.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Msg } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { goClientAvailable, GO_CLIENT_BINARY, GO_CLIENT_BUILD, startGoClient, type BackgroundGoClient } from "../../harness/goClient";
import { natsPyPath, toolPath } from "../../harness/tools";

export const CLIENTS = ["nats.js", "natscli", "nats-py", "nats.go"] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface ClientLogin {
  url: string;
  user: string;
  password: string;
  inboxPrefix: string;
}

/** One message as the client showed it (natscli's payload is its printed text, headers included). */
export interface Heard {
  subject: string;
  data: string;
}

export interface Eavesdropper {
  client: ClientName;
  /** Every message heard, in order (a message two subscriptions match, twice). */
  messages(): Heard[];
  /** Everything heard and printed: subjects, payloads, errors. */
  text(): string;
  /** The subscriptions the client itself reported refused (its permission violation errors). */
  refused(): string[];
  /** Processes still running (natscli ends at its violation). */
  running(): number;
  stop(): Promise<void>;
}

/** Names the connections carry, so the server's /connz tells them from the test's own. */
export const connectionName = (client: ClientName) => `eavesdropper-${client}`;

export async function startEavesdropper(client: ClientName, login: ClientLogin, subjects: string[]): Promise<Eavesdropper> {
  switch (client) {
    case "nats.js":
      return natsJs(login, subjects);
    case "natscli":
      return perSubject(client, subjects, (subject) => natscli(login, subject));
    case "nats-py":
      return natsPy(login, subjects);
    case "nats.go":
      if (!goClientAvailable()) throw new Error(`${GO_CLIENT_BINARY} is not in .tools/bin; run \`${GO_CLIENT_BUILD}\``);
      return perSubject(client, subjects, (subject) => natsGo(login, subject));
  }
}

const VIOLATION = /Permissions Violation for Subscription to "((?:[^"\\]|\\.)*)"/gi;

/**
 * The subjects of `asked` that a violation in `text` names. nats-py prints the server's error in
 * lower case, subject included, so subjects are compared without case.
 */
function refusedIn(text: string, asked: string[]): string[] {
  const named = new Set([...text.matchAll(VIOLATION)].map((m) => m[1].toLowerCase()));
  return asked.filter((subject) => named.has(subject.toLowerCase()));
}

async function natsJs(login: ClientLogin, subjects: string[]): Promise<Eavesdropper> {
  const nc = await connect({ servers: login.url, user: login.user, pass: login.password, inboxPrefix: login.inboxPrefix, name: connectionName("nats.js"), reconnect: false });
  const heard: Heard[] = [];
  let text = "";
  for (const subject of subjects) {
    nc.subscribe(subject, {
      callback: (error: Error | null, msg: Msg) => {
        if (error) text += `${error.message}\n`;
        else {
          heard.push({ subject: msg.subject, data: msg.string() });
          text += `${msg.subject}\n${msg.string()}\n`;
        }
      },
    });
  }
  await nc.flush();
  return {
    client: "nats.js",
    messages: () => heard,
    text: () => text,
    refused: () => refusedIn(text, subjects),
    running: () => (nc.isClosed() ? 0 : 1),
    stop: () => nc.close(),
  };
}

/** A client program that takes one subject: one process per subject, their outputs together. */
interface OneSubject {
  output(): string;
  messages(): Heard[];
  running(): boolean;
  stop(): Promise<void>;
}

async function perSubject(client: ClientName, subjects: string[], start: (subject: string) => OneSubject | Promise<OneSubject>): Promise<Eavesdropper> {
  const runs: OneSubject[] = [];
  try {
    for (const subject of subjects) runs.push(await start(subject));
  } catch (error) {
    await Promise.all(runs.map((r) => r.stop()));
    throw error;
  }
  const text = () => runs.map((r) => r.output()).join("\n");
  return {
    client,
    messages: () => runs.flatMap((r) => r.messages()),
    text,
    refused: () => refusedIn(text(), subjects),
    running: () => runs.filter((r) => r.running()).length,
    stop: async () => void (await Promise.all(runs.map((r) => r.stop()))),
  };
}

/** `nats sub <subject>` with the user's inbox prefix, the password from the environment. */
function natscli(login: ClientLogin, subject: string): OneSubject {
  const home = mkdtempSync(path.join(tmpdir(), "nats-infra-eavesdrop-cli-"));
  const env = { ...process.env, NATS_URL: login.url, NATS_USER: login.user, NATS_PASSWORD: login.password, NATS_CONTEXT: "", HOME: home };
  const child = spawn(toolPath("nats"), ["sub", subject, "--inbox-prefix", login.inboxPrefix, "--connection-name", connectionName("natscli")], { env, stdio: ["ignore", "pipe", "pipe"] });
  const out = collect(child);
  return {
    output: out.text,
    messages: () => natscliMessages(out.stdout()),
    running: () => isRunning(child),
    stop: async () => {
      await kill(child);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** natscli prints `[#<n>] Received on "<subject>"`, then the headers and the payload, per message. */
function natscliMessages(stdout: string): Heard[] {
  const marker = /^\[#\d+\] Received on "([^"]+)".*$/gm;
  const found = [...stdout.matchAll(marker)];
  return found.map((m, i) => ({ subject: m[1], data: stdout.slice(m.index! + m[0].length, found[i + 1]?.index ?? stdout.length) }));
}

/** nats-infra-goclient `sub <subject> <seconds>`: JSON lines of what it heard, `error:` lines on stderr. */
async function natsGo(login: ClientLogin, subject: string): Promise<OneSubject> {
  const run: BackgroundGoClient = startGoClient(["sub", subject, "60"], { url: login.url, user: login.user, password: login.password, inboxPrefix: login.inboxPrefix }, { timeoutMs: 90_000 });
  let ended = false;
  void run.done.then(() => (ended = true));
  // "ready" follows a flush, so the server has the subscription or has refused it.
  await run.ready;
  return {
    output: () => `${run.results.map((r) => `${String(r.subject)}\n${String(r.data)}`).join("\n")}\n${run.errors.join("\n")}`,
    messages: () => run.results.map((r) => ({ subject: String(r.subject), data: String(r.data) })),
    running: () => !ended,
    stop: async () => void (await run.stop()),
  };
}

async function natsPy(login: ClientLogin, subjects: string[]): Promise<Eavesdropper> {
  const env = {
    ...process.env,
    NATS_URL: login.url,
    NATS_USER: login.user,
    NATS_PASSWORD: login.password,
    NATS_INBOX_PREFIX: login.inboxPrefix,
    SUBJECTS: JSON.stringify(subjects),
  };
  const child = spawn(natsPyPath(), [path.join(__dirname, "eavesdrop.py")], { env, stdio: ["ignore", "pipe", "pipe"] });
  const out = collect(child);
  const lines = () =>
    out
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as { subject?: string; data?: string; error?: string; ready?: boolean }];
        } catch {
          return []; // the last line, still being written
        }
      });
  const eavesdropper: Eavesdropper = {
    client: "nats-py",
    messages: () => lines().flatMap((l) => (l.subject === undefined ? [] : [{ subject: l.subject, data: l.data ?? "" }])),
    text: out.text,
    // Its errors are JSON strings, quotes escaped: read them parsed.
    refused: () => refusedIn(lines().flatMap((l) => (l.error === undefined ? [] : [l.error])).join("\n"), subjects),
    running: () => (isRunning(child) ? 1 : 0),
    stop: () => kill(child),
  };
  const deadline = Date.now() + 15_000;
  while (!lines().some((l) => l.ready)) {
    if (!isRunning(child) || Date.now() > deadline) {
      await kill(child);
      throw new Error(`nats-py eavesdropper did not get ready:\n${out.text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return eavesdropper;
}

function collect(child: ChildProcess): { stdout: () => string; text: () => string } {
  let stdout = "";
  let all = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
    all += d;
  });
  child.stderr!.on("data", (d: Buffer) => (all += d));
  return { stdout: () => stdout, text: () => all };
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function kill(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
