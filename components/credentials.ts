// One generated password per NATS user, and in a cluster one for the routes between servers.
// Plaintext exists only as Pulumi secrets; the server only ever sees the bcrypt hash (except the
// route password, which each server must present when it dials the others: cluster.conf, secret).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PASSWORD_LENGTH, PASSWORD_SPECIALS } from "../config/passwords";
import type { NatsUser } from "../config/users";


export interface UserSecret {
  user: string;
  account: string;
  password: pulumi.Output<string>;
  bcryptHash: pulumi.Output<string>;
}

/** The route credentials as render/clusterConf.ts takes them, both secret. */
export interface RouteSecretOutputs {
  password: pulumi.Output<string>;
  hash: pulumi.Output<string>;
}

/**
 * `rotations`: per service whose password was rotated (`services[].passwordRotation`), the
 * rotation number. It becomes that password's `keepers`, so raising it replaces exactly that
 * one password. A password never rotated has no keepers input at all: adding one to an existing
 * password would replace it (and cut off every client of that service).
 */
export function createPasswords(componentName: string, users: readonly NatsUser[], parent: pulumi.Resource, rotations: Record<string, number> = {}): Record<string, UserSecret> {
  const secrets: Record<string, UserSecret> = {};
  for (const user of users) {
    const password = generatedPassword(`${componentName}-password-${user.user}`, parent, rotations[user.user]);
    secrets[user.user] = { user: user.user, account: user.account, ...secretsOf(password) };
  }
  return secrets;
}

/** The password every server of a cluster authenticates its routes with (render/clusterConf.ts ROUTE_USER). */
export function createRouteSecret(componentName: string, parent: pulumi.Resource): RouteSecretOutputs {
  const { password, bcryptHash } = secretsOf(generatedPassword(`${componentName}-route-password`, parent));
  return { password, hash: bcryptHash };
}

/** Same shape for every generated password (config/passwords.ts): URL- and shell-safe. */
function generatedPassword(name: string, parent: pulumi.Resource, rotation?: number): random.RandomPassword {
  return new random.RandomPassword(
    name,
    {
      length: PASSWORD_LENGTH,
      special: true,
      overrideSpecial: PASSWORD_SPECIALS,
      minLower: 1,
      minUpper: 1,
      minNumeric: 1,
      ...(rotation === undefined ? {} : { keepers: { passwordRotation: String(rotation) } }),
    },
    { parent },
  );
}

/** The provider marks these secret, but not under every engine (mocks, older CLIs): be explicit. */
function secretsOf(password: random.RandomPassword): { password: pulumi.Output<string>; bcryptHash: pulumi.Output<string> } {
  return { password: pulumi.secret(password.result), bcryptHash: pulumi.secret(password.bcryptHash) };
}
