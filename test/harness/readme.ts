// The README's code blocks, as tests run them word for word.
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./tools";

/** The fenced block that follows `<!-- snippet: NAME -->` in README.md. */
export function readmeSnippet(name: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const match = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no snippet "${name}"`);
  return match[1];
}
