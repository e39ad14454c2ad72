// How a resource's values reach a policy, which differs by caller:
// - the Pulumi CLI decrypts secrets and drops the mark before a policy sees them
//   (pulumi-policy#241), and hides preview-time unknowns behind a proxy that throws
//   UnknownValueError when such a value is read;
// - Pulumi mocks record a secret input as { [SECRET_SIG_KEY]: SECRET_SIG, value };
// - the policy SDK's remediation path wraps secrets in its Secret class.
// Policies read values through these helpers so that all three work the same way.
import { Secret, UnknownValueError } from "@pulumi/policy";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/** The SDK's own markers of a serialised secret: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY = specialSigKey;
export const SECRET_SIG = specialSecretSig;

/** A value with its secret wrappers taken off, and whether there was one. */
export interface Revealed<T = unknown> {
  value: T;
  /** True only where the secret mark is visible (mocks, remediation); the CLI never shows it. */
  secret: boolean;
}

function isMockSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

export function reveal(value: unknown): Revealed {
  let secret = false;
  let current = value;
  for (;;) {
    if (current instanceof Secret) current = current.value;
    else if (isMockSecret(current)) current = current.value;
    else return { value: current, secret };
    secret = true;
  }
}

/** Deep copy with every secret wrapper removed: for checks that look at content, not secrecy. */
export function plain(value: unknown): unknown {
  const { value: inner } = reveal(value);
  if (Array.isArray(inner)) return inner.map(plain);
  if (typeof inner === "object" && inner !== null) {
    return Object.fromEntries(Object.keys(inner).map((key) => [key, plain((inner as Record<string, unknown>)[key])]));
  }
  return inner;
}

export const UNKNOWN = Symbol("unknown during preview");
export type Known<T> = T | typeof UNKNOWN;

/**
 * Reads a value that may be unknown during preview. Unknown fields are skipped by the check
 * that needed them, so one unknown password does not stop every other check on the resource.
 */
export function known<T>(read: () => T): Known<T> {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return UNKNOWN;
    throw error;
  }
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
