// Generated passwords stay secret. The stack policy knows the actual values (the outputs of every
// RandomPassword) and looks for them, and for their bcrypt hashes, in every other resource: on
// command lines and in labels they always leak; in plain-text-by-design environment entries too;
// anywhere else they must carry the secret mark where that mark is visible.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import { isPublicEnvKey, SECRET_OPTIONS_SCHEMA, type SecretOptions } from "./support/credentials";
import { COMMAND_TYPE, CONTAINER_TYPE, RANDOM_PASSWORD_TYPE } from "./support/entries";
import { known, reveal, UNKNOWN } from "./support/values";

const configSchema = { properties: SECRET_OPTIONS_SCHEMA };

/** Shorter values would match by chance; generated passwords are far longer (see password-length). */
const MIN_SEARCHED_LENGTH = 12;

/** Fields whose content is never secret, whatever marks it carries. */
const ALWAYS_VISIBLE: Record<string, string[]> = {
  [CONTAINER_TYPE]: ["entrypoints", "command", "labels"],
  [COMMAND_TYPE]: ["create", "update", "delete"],
};

interface Found {
  path: string;
  secret: boolean;
  text: string;
}

export const noPasswordLeaks: StackValidationPolicy = {
  name: "no-password-leaks",
  description: "Generated passwords and their hashes appear only in secret inputs, never on command lines, in labels or in plain-text entries.",
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: (args, reportViolation) => {
    const options = withDefaults<SecretOptions>(configSchema, args.getConfig());
    const passwords = args.resources.filter((r) => r.type === RANDOM_PASSWORD_TYPE).flatMap(secretValuesOf);
    if (passwords.length === 0) args.notApplicable("no generated password with a known value in this stack");
    for (const resource of args.resources) {
      if (resource.type === RANDOM_PASSWORD_TYPE) continue;
      const visibleFields = ALWAYS_VISIBLE[resource.type] ?? [];
      for (const found of stringsOf(resource.props)) {
        const password = passwords.find((p) => found.text.includes(p.value));
        if (!password) continue;
        const top = found.path.split(/[.[]/)[0];
        const envKey = environmentKey(resource, found);
        const what = `the ${password.what} of ${password.owner}`;
        if (visibleFields.includes(top)) {
          reportViolation(`${resource.name}: ${found.path} contains ${what}; command lines and labels are readable by anyone on the host: pass it through a secret environment entry or stdin.`, resource.urn);
        } else if (envKey !== undefined && isPublicEnvKey(envKey, options)) {
          reportViolation(`${resource.name}: ${found.path} is plain text by design but contains ${what}: keep credentials in secret entries only.`, resource.urn);
        } else if (options.secretMarkersVisible && !found.secret) {
          reportViolation(`${resource.name}: ${found.path} contains ${what} without the secret mark, so state and previews show it: wrap the value with pulumi.secret(...).`, resource.urn);
        }
      }
    }
  },
};

function secretValuesOf(resource: PolicyResource): { value: string; what: string; owner: string }[] {
  return (["result", "bcryptHash"] as const).flatMap((field) => {
    const value = known(() => reveal(resource.props[field]).value);
    if (value === UNKNOWN || typeof value !== "string" || value.length < MIN_SEARCHED_LENGTH) return [];
    return [{ value, what: field === "result" ? "password" : "bcrypt hash", owner: resource.name }];
  });
}

/** Every string inside props, with its path and whether a secret mark encloses it. */
function stringsOf(props: Record<string, unknown>): Found[] {
  const out: Found[] = [];
  const walk = (value: unknown, path: string, secret: boolean): void => {
    const one = reveal(value);
    const inSecret = secret || one.secret;
    if (typeof one.value === "string") out.push({ path, secret: inSecret, text: one.value });
    else if (Array.isArray(one.value)) {
      const list = one.value;
      for (let i = 0; i < list.length; i++) {
        const item = known(() => list[i]);
        if (item !== UNKNOWN) walk(item, `${path}[${i}]`, inSecret);
      }
    } else if (typeof one.value === "object" && one.value !== null) {
      const record = one.value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = known(() => record[key]);
        if (item !== UNKNOWN) walk(item, path ? `${path}.${key}` : key, inSecret);
      }
    }
  };
  walk(props, "", false);
  return out;
}

/** The environment key a found string sits under, if it is an env entry. */
function environmentKey(resource: PolicyResource, found: Found): string | undefined {
  if (resource.type === COMMAND_TYPE && found.path.startsWith("environment.")) return found.path.slice("environment.".length);
  if (resource.type === CONTAINER_TYPE && found.path.startsWith("envs[")) return found.text.split("=")[0];
  return undefined;
}
