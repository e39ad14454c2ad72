// The cost floor for comparison with index.ts: the same number of RandomPassword resources
// (one per NATS user, same args) under the same mocks, and nothing else. No config layer, no
// renderers, no containers or command. What the real program costs above this is ours; this
// much is the Pulumi SDK's per-resource work plus the mocked bcrypt.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const users = Number(new pulumi.Config().require("floorUsers"));
const passwords: pulumi.Output<string>[] = [];
for (let i = 0; i < users; i++) {
  const password = new random.RandomPassword(`floor-password-${i}`, { length: 32, special: true, overrideSpecial: "-_", minLower: 1, minUpper: 1, minNumeric: 1 });
  passwords.push(password.bcryptHash);
}
export const hashes = pulumi.all(passwords).apply((h) => h.length);
