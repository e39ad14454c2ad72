// One generated password per NATS user. Plaintext exists only as Pulumi secrets; the server
// only ever sees the bcrypt hash.
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

export function createPasswords(componentName: string, users: readonly NatsUser[], parent: pulumi.Resource): Record<string, UserSecret> {
  const secrets: Record<string, UserSecret> = {};
  for (const user of users) {
    const password = new random.RandomPassword(
      `${componentName}-password-${user.user}`,
      {
        length: PASSWORD_LENGTH,
        special: true,
        overrideSpecial: PASSWORD_SPECIALS,
        minLower: 1,
        minUpper: 1,
        minNumeric: 1,
      },
      { parent },
    );
    // The provider marks these secret, but not under every engine (mocks, older CLIs): be explicit.
    secrets[user.user] = {
      user: user.user,
      account: user.account,
      password: pulumi.secret(password.result),
      bcryptHash: pulumi.secret(password.bcryptHash),
    };
  }
  return secrets;
}
