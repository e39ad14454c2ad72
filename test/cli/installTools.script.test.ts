// tools/install-tools.sh (`npm run tools`) on a temporary copy, with a recording stand-in for `go`:
// what it builds, keeps, falls back to and says. The stand-in builds tiny scripts and refuses one
// module the way the Go module proxy here refuses nats-surveyor (403), so the decisions are checked
// without minutes of real builds; the real binaries are the server tests' business.
import { execFile } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, test } from "vitest";
import { REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);
const SERVER = { module: "example.test/fake/nats-server", version: "v2.0.0", binary: "nats-server" };
const SURVEYOR = { module: "example.test/refused/nats-surveyor", version: "v0.9.11", binary: "nats-surveyor", optional: true };
const PREBUILT_VERSION = "nats-surveyor version v0.9.9-725f52d";

let project: string;
let goLog: string;
let cache: string;

const script = (file: string, text: string) => {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
};
const writeVersions = (server = SERVER) =>
  writeFileSync(path.join(project, "config", "versions.json"), JSON.stringify({ server, surveyor: SURVEYOR, natsPy: { package: "nats-py", version: "2.16.0" } }));

beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), "nats-infra-tools-"));
  for (const dir of ["tools", "config", "go-bin", "prebuilt", ".tools/py/bin", "home"]) mkdirSync(path.join(project, dir), { recursive: true });
  cpSync(path.join(REPO_ROOT, "tools", "install-tools.sh"), path.join(project, "tools", "install-tools.sh"));
  writeVersions();
  // Not under test here (tools/install-pulumi.sh has its own concerns); it runs before the last lines.
  script(path.join(project, "tools", "install-pulumi.sh"), '#!/usr/bin/env bash\necho "install-tools: pulumi: (stand-in)"\n');
  script(path.join(project, "tools", "build-go-client.sh"), '#!/usr/bin/env bash\necho "install-tools: nats-infra-goclient: (stand-in)"\n');
  // The venv's pip already reports the pinned nats-py, so nothing is fetched.
  script(path.join(project, ".tools", "py", "bin", "pip"), '#!/bin/sh\necho "Name: nats-py"\necho "Version: 2.16.0"\n');
  script(path.join(project, "prebuilt", "nats-surveyor"), `#!/bin/sh\necho "${PREBUILT_VERSION}"\n`);
  goLog = path.join(project, "go.log");
  cache = path.join(project, "cache");
  // `go install module@version`: records the call; refuses modules under /refused/ with Go's own
  // words for a proxy's 403, builds a script named after the module's last element otherwise.
  script(
    path.join(project, "go-bin", "go"),
    `#!/usr/bin/env bash
echo "$*" >>"${goLog}"
spec=$2; module=\${spec%@*}; version=\${spec#*@}; name=\${module##*/}
case "$module" in
  */refused/*)
    echo "go: $spec: $spec: reading https://proxy.golang.org/$module/@v/$version.info: 403 Forbidden" >&2
    echo "	server response: This module version is not available." >&2
    exit 1 ;;
esac
printf '#!/bin/sh\\necho "%s version %s"\\n' "$name" "$version" >"$GOBIN/$name"
chmod 755 "$GOBIN/$name"
`,
  );
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

/** Node (the script reads versions.json with it) and the system's tools; Go only when asked. */
const pathWith = (go: boolean) => [...(go ? [path.join(project, "go-bin")] : []), path.dirname(process.execPath), "/usr/bin", "/bin"].join(":");

/** One run, stdout and stderr in the order a person sees them. */
async function installTools(options: { go?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; output: string }> {
  const env = {
    PATH: pathWith(options.go ?? true),
    HOME: path.join(project, "home"),
    NATS_INFRA_TOOLS_CACHE: cache,
    NATS_INFRA_PREBUILT_BIN: path.join(project, "prebuilt"),
    ...options.env,
  };
  return run("bash", ["-c", 'bash "$0" 2>&1', path.join(project, "tools", "install-tools.sh")], { env }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, output: e.stdout }),
  );
}
const goCalls = () => (existsSync(goLog) ? readFileSync(goLog, "utf8").trim().split("\n") : []);
const bin = (name: string) => path.join(project, ".tools", "bin", name);
const refusalRecord = () => path.join(cache, `nats-surveyor@${SURVEYOR.version}.refused`);
const today = () => new Date().toISOString().slice(0, 10);
const lastLine = (output: string) => output.trim().split("\n").at(-1);
const count = (output: string, text: string) => output.split(text).length - 1;

const NOTE = `install-tools: NOTE: .tools/bin/nats-surveyor is not the pinned ${SURVEYOR.version} but '${PREBUILT_VERSION}'`;

test("a first run builds with go install, records the proxy's refusal with its date, falls back to the prebuilt and says so last", async () => {
  const { code, output } = await installTools();
  expect(code).toBe(0);
  expect(goCalls()).toEqual([`install ${SERVER.module}@${SERVER.version}`, `install ${SURVEYOR.module}@${SURVEYOR.version}`]);
  expect(readFileSync(bin("nats-server.source"), "utf8")).toMatch(new RegExp(`^go install ${SERVER.module}@${SERVER.version} sha256 [0-9a-f]{64}\\n$`));

  const record = readFileSync(refusalRecord(), "utf8");
  expect(record).toMatch(new RegExp(`^refused-at ${today()}T\\d\\d:\\d\\d:\\d\\dZ\\ngo install ${SURVEYOR.module}@${SURVEYOR.version}\\n.*403 Forbidden`));
  expect(output).toContain(`recorded the refusal in ${refusalRecord()}`);

  expect(readFileSync(bin("nats-surveyor.source"), "utf8")).toBe(
    `prebuilt ${path.join(project, "prebuilt", "nats-surveyor")} sha256 ${(await run("sha256sum", [bin("nats-surveyor")])).stdout.slice(0, 64)} version ${PREBUILT_VERSION} (go install ${SURVEYOR.module}@${SURVEYOR.version} failed, so not the pinned ${SURVEYOR.version})\n`,
  );
  // Said once, after everything else (Pulumi's part included).
  expect(count(output, "is not the pinned")).toBe(1);
  expect(lastLine(output)).toContain(NOTE);
  expect(output.indexOf("install-tools: pulumi:")).toBeLessThan(output.indexOf(NOTE));
});

test("a second run keeps the binaries that match their pins and does not ask the proxy again", async () => {
  await installTools();
  const { code, output } = await installTools();
  expect(code).toBe(0);
  expect(goCalls()).toHaveLength(2); // both from the first run
  expect(output).toContain(`install-tools: nats-server ${SERVER.version}: .tools/bin/nats-server is that build (sha256 checked); kept`);
  expect(output).toMatch(new RegExp(`the Go module proxy refused ${SURVEYOR.module}@${SURVEYOR.version} on ${today()}T[^ ]+ \\(recorded in ${refusalRecord()}\\); not asked again before \\d{4}-\\d\\d-\\d\\d \\(NATS_INFRA_RETRY_REFUSED=1 asks now\\)`));
  expect(output).toContain("(already in .tools/bin, sha256 checked; kept)");
  expect(count(output, "is not the pinned")).toBe(1);
  expect(lastLine(output)).toContain(NOTE);
});

test("binaries that match their pins need no Go and no cache", async () => {
  await installTools();
  const { code, output } = await installTools({ go: false, env: { NATS_INFRA_TOOLS_CACHE: path.join(project, "other-cache") } });
  expect(code).toBe(0);
  expect(output).toContain(".tools/bin/nats-server is that build (sha256 checked); kept");
  expect((await run(bin("nats-server"), ["--version"])).stdout.trim()).toBe(`nats-server version ${SERVER.version}`);
});

test("NATS_INFRA_RETRY_REFUSED=1 asks the proxy again, and so does a run after the refusal is 7 days old", async () => {
  await installTools();
  await installTools({ env: { NATS_INFRA_RETRY_REFUSED: "1" } });
  expect(goCalls().filter((c) => c.includes(SURVEYOR.module))).toHaveLength(2);

  const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
  writeFileSync(refusalRecord(), readFileSync(refusalRecord(), "utf8").replace(/^refused-at \S+/, `refused-at ${eightDaysAgo}`));
  await installTools();
  expect(goCalls().filter((c) => c.includes(SURVEYOR.module))).toHaveLength(3);
  // That retry was refused too, and recorded anew: the next run does not ask.
  expect(readFileSync(refusalRecord(), "utf8")).toMatch(new RegExp(`^refused-at ${today()}`));
  await installTools();
  expect(goCalls().filter((c) => c.includes(SURVEYOR.module))).toHaveLength(3);
});

test("a binary changed since it was recorded, or a new pin, is not kept", async () => {
  await installTools();
  rmSync(bin("nats-server"));
  writeFileSync(bin("nats-server"), "#!/bin/sh\necho something else\n", { mode: 0o755 });
  const relinked = await installTools();
  expect(relinked.output).toContain(`install-tools: nats-server ${SERVER.version} -> .tools/bin/nats-server`);
  expect(goCalls()).toHaveLength(2); // from the cache, not built again
  expect((await run(bin("nats-server"), ["--version"])).stdout.trim()).toBe(`nats-server version ${SERVER.version}`);

  writeVersions({ ...SERVER, version: "v2.0.1" });
  await installTools();
  expect(goCalls().at(-1)).toBe(`install ${SERVER.module}@v2.0.1`);
  expect((await run(bin("nats-server"), ["--version"])).stdout.trim()).toBe("nats-server version v2.0.1");
});
