// What the README's Quick start and Connecting sections tell a person to do, done as they say:
// the Quick start block's first line gives a shell Node 22+ (here from a PATH whose node is older,
// when the machine has one), and the Node.js snippet, saved as the text next to it says (a `.mjs`
// file inside the repository), finds @nats-io/transport-node, which it does not elsewhere. Running
// the snippets against a dev server is test/docs/readmeSnippets.server.test.ts's business.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, test } from "vitest";
import { freePort } from "../harness/ports";
import { readmeSnippet } from "../harness/readme";
import { REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);
const readme = () => readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const section = (title: string) => readme().split(/^## /m).find((s) => s.startsWith(`${title}\n`)) ?? "";
const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test("the Quick start block begins with `source tools/node-env.sh`, which gives the shell Node 22+", async () => {
  const block = /```sh\n([\s\S]*?)\n```/.exec(section("Quick start"))?.[1] ?? "";
  const lines = block.split("\n");
  expect(lines[0]).toMatch(/^source tools\/node-env\.sh +# \S/);
  expect(lines.slice(1).map((l) => l.replace(/ +#.*$/, ""))).toEqual(["npm ci && npm run tools", "npx nats-infra dev"]);

  // /usr/bin's node may be older (20 on our build machines): the line must put 22+ first anyway.
  const { stdout } = await run("bash", ["-c", `${lines[0]}\nnode -p process.versions.node`], { cwd: REPO_ROOT, env: { ...process.env, PATH: "/usr/bin:/bin" } });
  expect(Number(stdout.trim().split(".")[0])).toBeGreaterThanOrEqual(22);
});

test("the Node.js snippet, saved as a .mjs file inside the repository as the README says, resolves @nats-io/transport-node; outside it does not", async () => {
  const connecting = section("Connecting").replace(/\s+/g, " ");
  expect(connecting).toContain("Save it as a `.mjs` file inside the repository");
  expect(connecting).toContain("inside the repository `@nats-io/transport-node` resolves from its `node_modules`");

  const port = await freePort(); // nothing listens: the snippet gets as far as connecting
  const env = { ...process.env, NATS_URL: `nats://127.0.0.1:${port}`, NATS_USER: "teacher-service", NATS_PASSWORD: "unused" };
  const runSnippetIn = async (dir: string) => {
    scratch.push(dir);
    const file = path.join(dir, "connect.mjs");
    writeFileSync(file, readmeSnippet("node"));
    return run(process.execPath, [file], { cwd: dir, env, timeout: 30_000 }).then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
  };
  // node_modules is inside the repository and ignored by git, as the README snippet test does it.
  const inside = await runSnippetIn(mkdtempSync(path.join(REPO_ROOT, "node_modules", ".snippets-")));
  expect(inside).not.toContain("ERR_MODULE_NOT_FOUND");
  expect(inside).toMatch(/CONNECTION_REFUSED|ECONNREFUSED/);

  const outside = await runSnippetIn(mkdtempSync(path.join(tmpdir(), "nats-infra-snippet-")));
  expect(outside).toContain("ERR_MODULE_NOT_FOUND");
  expect(outside).toContain("@nats-io/transport-node");
});
