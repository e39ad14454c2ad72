// What counts as credential material, and the options shared by the two secret policies.

import { BCRYPT_HASH_INSIDE } from "../../config/passwords";

/** Values that are credentials whatever key they sit under. */
const CREDENTIAL_VALUES: { what: string; pattern: RegExp }[] = [
  { what: "a URL with a password in it", pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i },
  { what: "a bcrypt password hash", pattern: BCRYPT_HASH_INSIDE },
  { what: "a PEM private key", pattern: /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/ },
  { what: "an NKEY seed", pattern: /\bS[UOANCPX][A-Z2-7]{56}\b/ },
];

/** Flags that take a secret as their value: any use puts the secret in the process's argv. */
const SECRET_FLAG = /(^|[\s"'=;|&(])--?(password|passwd|pass|token|secret|auth-?token)(=|\s|$)/i;

export function credentialIn(value: string): string | undefined {
  return CREDENTIAL_VALUES.find(({ pattern }) => pattern.test(value))?.what;
}

/** A command line (argv words, or one shell text) that carries a secret, and why. */
export function secretOnCommandLine(words: string[]): string | undefined {
  for (const word of words) {
    const flag = SECRET_FLAG.exec(word);
    if (flag) return `the flag --${flag[2]}`;
    const credential = credentialIn(word);
    if (credential) return credential;
  }
  return undefined;
}

export interface SecretOptions {
  secretKeyPattern: string;
  publicEnvKeys: string[];
  secretMarkersVisible: boolean;
}

export const SECRET_OPTIONS_SCHEMA = {
  secretKeyPattern: {
    type: "string" as const,
    default: "(^|[_.-])(PASS|PASSWD|PASSWORD|SECRET|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|CREDENTIALS?|NKEY|SEED|AUTH)([_.-]|$)",
    description: "Case-insensitive regular expression for environment keys and labels that hold credentials.",
  },
  publicEnvKeys: {
    type: "array" as const,
    items: { type: "string" as const },
    default: ["NATS_CONF", "NATS_PERMISSIONS_*"],
    description: "Environment keys that are shown in plain text by design (a trailing * matches a prefix); credentials must never be in them.",
  },
  secretMarkersVisible: {
    type: "boolean" as const,
    default: false,
    description:
      "Whether the resource inputs still carry Pulumi's secret mark. The Pulumi CLI decrypts secrets before policies see them and drops the mark, " +
      "so leave this false under `pulumi preview/up`; tests that feed inputs recorded under Pulumi mocks set it true, and then every credential must be secret.",
  },
};

export function isSecretKey(key: string, options: SecretOptions): boolean {
  return new RegExp(options.secretKeyPattern, "i").test(key);
}

/**
 * An entry that names the file a program reads a secret from (Grafana's `GF_<SETTING>__FILE`, the
 * `<NAME>_FILE` of many official images): its value is a path, and the secret is not in it.
 * A value that is not one absolute path is judged like any other.
 */
export function isSecretFileReference(key: string, value: string): boolean {
  return /_FILE$/i.test(key) && /^\/[^\s]*$/.test(value) && credentialIn(value) === undefined;
}

export function isPublicEnvKey(key: string, options: SecretOptions): boolean {
  return options.publicEnvKeys.some((pattern) => (pattern.endsWith("*") ? key.startsWith(pattern.slice(0, -1)) : key === pattern));
}
