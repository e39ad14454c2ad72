// Runs the README's connection snippets exactly as written there, against a real nats-server
// started from the rendered dev stack, with user-service answering `user.get`.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { startNats, type RunningNats } from "../harness/natsServer";
import { REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);

/** The fenced block that follows `<!-- snippet: NAME -->` in README.md. */
function readmeSnippet(name: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const match = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no snippet "${name}"`);
  return match[1];
}

let nats: RunningNats;
let responder: Awaited<ReturnType<typeof connect>>;
let scratch: string;
beforeAll(async () => {
  nats = await startNats(readStackFile(path.join(REPO_ROOT, "Pulumi.dev.yaml")));
  responder = await connect({ servers: nats.url, user: "user-service", pass: nats.passwords["user-service"] });
  responder.subscribe("user.get", { callback: (_err: unknown, msg: { respond(data: string): boolean }) => msg.respond(JSON.stringify({ id: 42, name: "Ada" })) });
  await responder.flush();
  // Inside the repo so that the Node snippet resolves @nats-io/transport-node from node_modules.
  scratch = mkdtempSync(path.join(REPO_ROOT, "node_modules", ".snippets-"));
});
afterAll(async () => {
  await responder?.close();
  await nats?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const asTeacher = () => ({ ...process.env, NATS_URL: nats.url, NATS_USER: "teacher-service", NATS_PASSWORD: nats.passwords["teacher-service"] });

test("the Node.js snippet makes a request as teacher-service and prints the reply", async () => {
  const file = path.join(scratch, "connect.mjs");
  writeFileSync(file, readmeSnippet("node"));
  const { stdout } = await run(process.execPath, [file], { env: asTeacher(), timeout: 20_000 });
  expect(stdout.trim()).toBe('reply: {"id":42,"name":"Ada"}');
});

test("the Python snippet (nats-py) does the same", async () => {
  const python = path.join(REPO_ROOT, ".tools", "py", "bin", "python");
  if (!existsSync(python)) throw new Error("nats-py is not installed in .tools/py; run `npm run tools`");
  const file = path.join(scratch, "connect.py");
  writeFileSync(file, readmeSnippet("python"));
  const { stdout } = await run(python, [file], { env: asTeacher(), timeout: 20_000 });
  expect(stdout.trim()).toBe('reply: {"id":42,"name":"Ada"}');
});

test("with another service's password the snippet is refused", async () => {
  const file = path.join(scratch, "connect-wrong.mjs");
  writeFileSync(file, readmeSnippet("node"));
  const env = { ...asTeacher(), NATS_PASSWORD: nats.passwords["user-service"] };
  await expect(run(process.execPath, [file], { env, timeout: 20_000 })).rejects.toThrow(/Authorization Violation|AUTHORIZATION_VIOLATION/i);
});
