// Generated passwords are long: NATS compares them on every connect, and a short one is the
// only thing between a loopback port and every subject the service may use.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import { RANDOM_PASSWORD_TYPE } from "./support/entries";
import { known, plain, UNKNOWN } from "./support/values";

export interface PasswordLengthConfig {
  minLength: number;
}

const configSchema = {
  properties: {
    minLength: { type: "integer" as const, minimum: 1, default: 24, description: "Fewest characters a generated password may have." },
  },
};

export const passwordLength: ResourceValidationPolicy = {
  name: "password-length",
  description: "Generated passwords (random.RandomPassword) are at least 24 characters long.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    if (args.type !== RANDOM_PASSWORD_TYPE) return;
    const { minLength } = withDefaults<PasswordLengthConfig>(configSchema, args.getConfig());
    const length = known(() => plain(args.props.length));
    if (length === UNKNOWN) return;
    if (typeof length !== "number" || length < minLength) {
      reportViolation(`password ${args.name} is ${String(length)} characters long; at least ${minLength} are required: set length to ${minLength} or more (nats-infra uses PASSWORD_LENGTH in config/passwords.ts).`);
    }
  },
};
