// The shape of every generated NATS password, shared by the Pulumi component (RandomPassword),
// the render command (local generation) and the test mocks: long enough to be unguessable, and
// only [A-Za-z0-9-_], so safe in URLs, config files and shells.

import { randomBytes } from "node:crypto";

export const PASSWORD_LENGTH = 32;
/** The non-alphanumeric characters allowed (RandomPassword's `overrideSpecial`). */
export const PASSWORD_SPECIALS = "-_";
/** A bcrypt hash as nats-server accepts it: $2a$, $2b$, $2x$ or $2y$, a two-digit cost, 53 characters of salt and hash. */
export const BCRYPT_HASH = /^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** The same, found anywhere inside a longer text. */
export const BCRYPT_HASH_INSIDE = new RegExp(BCRYPT_HASH.source.slice(1, -1));

export const PASSWORD_ALPHABET = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${PASSWORD_SPECIALS}`;

/** A new password of the generated shape, for everything that runs without Pulumi's RandomPassword. */
export function generatePassword(length = PASSWORD_LENGTH): string {
  return Array.from(randomBytes(length), (b) => PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length]).join("");
}
