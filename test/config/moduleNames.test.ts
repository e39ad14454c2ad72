// Under the real engine the program runs through ts-node, which resolves an import such as
// `./versions` to versions.json (or .js) before versions.ts; vitest and tsx resolve it the other
// way, so no other unit test can see the wrong module being loaded. Keep such pairs out.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../harness/tools";

describe("module names", () => {
  it("no TypeScript module shares its name with a .json or .js file beside it", () => {
    const files = execFileSync("git", ["ls-files", "*.json", "*.js", "*.cjs"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    expect(files.length).toBeGreaterThan(3);
    const shadowing = files.filter((file) => existsSync(`${REPO_ROOT}/${file.replace(/\.[^./]+$/, "")}.ts`));
    expect(shadowing).toEqual([]);
  });
});
