// `nats-infra rotate <service>`: that one service gets a new password, applied by a reload;
// every other user keeps its password and its connections.
//  - A dev server: the new password goes into its state dir's credentials.json, and the running
//    `nats-infra dev` is asked to apply its stack file again (devServer.ts requestDevApply), the
//    same validate-then-reload path as for any edit. Done once every node lets the service in
//    with the new password; then the old one must be refused. If the dev server does not apply
//    it in time (not running, or started with --no-watch), the old password is put back.
//  - A deployed stack: the service's `passwordRotation` in Pulumi.<stack>.yaml goes up by one.
//    It feeds the keepers of that service's RandomPassword only, so `npm run preview` shows that
//    one password replaced and `npm run up` installs its hash by a reload.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { generatePassword } from "../config/passwords";
import { CONFIG_NAMESPACE, parseStackConfig, readStackFile } from "../config/load";
import type { StackConfig } from "../config/schema";
import { CREDENTIALS_FILE, requestDevApply, setDevPassword } from "./devServer";
import { checkHealth, describeHealth } from "./health";
import { TargetError, type Target } from "./target";
import { tryPassword } from "./testAuth";

/** A service name the config does not declare: exit 2, nothing changed. */
export class RotateInputError extends Error {}

/** The service's index in `nats-infra:services`. */
export function serviceIndex(config: StackConfig, service: string): number {
  const index = config.services.findIndex((s) => s.name === service);
  if (index < 0) throw new RotateInputError(`no service "${service}" in the stack config; its services: ${config.services.map((s) => s.name).join(", ")}`);
  return index;
}

export interface StackRotation {
  service: string;
  stackFile: string;
  /** As `pulumi config set --path` names it. */
  key: string;
  from?: number;
  to: number;
}

/**
 * Raises the service's passwordRotation by one in the stack file. Written with the YAML
 * document model, so comments and layout stay as they are; a plain value, so this is what
 * `pulumi config set --path` would write, without needing the Pulumi CLI or the backend.
 */
export function rotateInStackFile(stackFile: string, service: string): StackRotation {
  const before = readFileSync(stackFile, "utf8");
  const config = parseStackConfig(readStackFile(stackFile)).config;
  const index = serviceIndex(config, service);
  const from = config.services[index].passwordRotation;
  const to = (from ?? 0) + 1;
  const document = parseDocument(before);
  document.setIn(["config", `${CONFIG_NAMESPACE}:services`, index, "passwordRotation"], to);
  // No padding inside [ ]: how the stack files (and Pulumi) write flow lists.
  writeFileSync(stackFile, document.toString({ flowCollectionPadding: false }));
  // Read back the way every command reads it: anything else than that one change is undone.
  const after = parseStackConfig(readStackFile(stackFile)).config;
  if (after.services[index]?.name !== service || after.services[index].passwordRotation !== to) {
    writeFileSync(stackFile, before);
    throw new Error(`could not set passwordRotation of ${service} in ${stackFile}; the file is as it was`);
  }
  return { service, stackFile, key: `${CONFIG_NAMESPACE}:services[${index}].passwordRotation`, from, to };
}

export interface DevRotation {
  service: string;
  nodes: string[];
  credentialsFile: string;
  /** The old password is refused on every node afterwards. */
  oldPasswordRefused: boolean;
}

/** A dev server that did not apply the new password in time; its old password was put back. */
export class RotationNotAppliedError extends Error {}

const POLL_MS = 250;

export async function rotateOnDevServer(target: Target, stateDir: string, service: string, timeoutMs = 30_000): Promise<DevRotation> {
  serviceIndex(target.config!, service);
  const credentialsFile = path.join(stateDir, CREDENTIALS_FILE);
  // Nothing is changed unless every node runs: the new password must reach all of them.
  const health = await Promise.all(target.nodes.map(async (n) => ({ node: n, answer: await checkHealth(n.monitorUrl) })));
  const silent = health.filter((h) => h.answer.status === undefined);
  if (silent.length) throw new TargetError(`the dev server does not answer (${silent.map((h) => `${h.node.name}: ${describeHealth(h.answer)}`).join("; ")}); start it with npx nats-infra dev`, "unreachable");

  const password = generatePassword();
  const previous = setDevPassword(stateDir, service, password);
  requestDevApply(target.stackFile!);
  const applied = await everyNode(target, (url) => tryPassword(url, service, password), "accepted", timeoutMs);
  if (!applied) {
    // Back to the old password, in the file and (should the dev server apply late) on the server.
    setDevPassword(stateDir, service, previous);
    requestDevApply(target.stackFile!);
    throw new RotationNotAppliedError(
      `the dev server did not apply the new password of ${service} within ${timeoutMs / 1000} s (is npx nats-infra dev running, without --no-watch? its output says why); the old password was put back in ${credentialsFile}`,
    );
  }
  const oldPasswordRefused = await everyNode(target, (url) => tryPassword(url, service, previous), "refused", 0);
  return { service, nodes: target.nodes.map((n) => n.name), credentialsFile, oldPasswordRefused };
}

/** Whether every node gives `wanted`, polling until the deadline (0: asked once). */
async function everyNode(target: Target, ask: (url: string) => Promise<unknown>, wanted: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(target.nodes.map((n) => ask(n.clientUrl)));
    if (answers.every((a) => a === wanted)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
