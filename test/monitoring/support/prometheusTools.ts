// Finds Debian's promtool and prometheus (package `prometheus`, 2.42 on bookworm). A missing one
// fails the test with the command that installs it, in CI and locally alike: these tests are
// about the real programs.
import { spawnSync } from "node:child_process";

const INSTALL_HELP = "install Debian's prometheus package: `bash tools/install-prometheus.sh` (runs `apt-get install -y prometheus` and keeps its service stopped)";

export function prometheusTool(name: "promtool" | "prometheus"): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) throw new Error(`${name} is not on PATH; ${INSTALL_HELP}`);
  return path;
}

/** `prometheus --version`'s first line, printed by the tests so a run says which version it proved. */
export function prometheusVersion(): string {
  const result = spawnSync(prometheusTool("prometheus"), ["--version"], { encoding: "utf8" });
  return `${result.stdout}${result.stderr}`.split("\n")[0];
}
