// The shape of every generated NATS password, shared by the Pulumi component (RandomPassword),
// the render command (local generation) and the test mocks: long enough to be unguessable, and
// only [A-Za-z0-9-_], so safe in URLs, config files and shells.

export const PASSWORD_LENGTH = 32;
/** The non-alphanumeric characters allowed (RandomPassword's `overrideSpecial`). */
export const PASSWORD_SPECIALS = "-_";
export const PASSWORD_ALPHABET = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${PASSWORD_SPECIALS}`;
