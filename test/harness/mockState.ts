// The mock "providers" shared by the test mocks (pulumiMocks.ts) and the benchmarks
// (bench/support/mockedProgram.ts): what state a mocked resource gets, and how secret inputs look.
// No vitest here, so a benchmark can load it in a plain process.
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { PASSWORD_ALPHABET } from "../../config/passwords";

/** How the mock monitor receives a secret input: the SDK's own markers, `{ [SECRET_SIG]: SECRET_MARK, value }`. */
export const SECRET_SIG = specialSigKey;
const SECRET_MARK = specialSecretSig;

export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_MARK;
}

export function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  return value;
}

/**
 * The state a mocked resource reports: its inputs, plus what a provider computes. Passwords and
 * bcrypt hashes derive from the resource name, so they are as stable across runs as the real
 * provider's stored ones, and two runs of one config record identical inputs.
 */
export function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const state: Record<string, unknown> = { ...(unwrapSecrets(inputs) as object) };
  if (type === "random:index/randomPassword:RandomPassword") {
    const password = mockPassword(name, Number(state.length ?? 32));
    state.result = password;
    state.bcryptHash = mockBcrypt(name, password);
  }
  if (type === "docker:index/volume:Volume" || type === "docker:index/network:Network") state.name ??= name;
  return state;
}

/** Raw stack config (keys without the prefix) as `pulumi.runtime.setAllConfig` takes it. */
export function configEntries(project: string, rawConfig: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(rawConfig).map(([key, value]) => [`${project}:${key}`, typeof value === "string" ? value : JSON.stringify(value)]));
}

function mockPassword(name: string, length: number): string {
  const alphabet = PASSWORD_ALPHABET;
  const digest = createHash("sha512").update(`password:${name}`).digest();
  return Array.from({ length }, (_, i) => alphabet[digest[i % digest.length] % alphabet.length]).join("");
}

function mockBcrypt(name: string, password: string): string {
  const saltChars = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHash("sha256").update(`salt:${name}`).digest();
  const salt = Array.from({ length: 22 }, (_, i) => saltChars[digest[i] % 64]).join("");
  // Cost 4 keeps mocked runs fast; the real provider uses 10.
  return bcrypt.hashSync(password, `$2a$04$${salt}`);
}
