// The policy pack: `pulumi preview --policy-pack policies` (and `up`) runs this file, which
// starts the analyzer server. Nothing else may construct a PolicyPack; tests import
// natsInfraPolicies.ts instead.
import { PolicyPack } from "@pulumi/policy";
import { natsInfraPolicies, POLICY_PACK_NAME } from "./natsInfraPolicies";

new PolicyPack(POLICY_PACK_NAME, {
  description: "Keeps every nats-infra deployment safe: loopback ports, pinned images, memory limits, no plaintext secrets, retained JetStream data, TLS 1.2+, TLS on routes between hosts, sane permissions.",
  policies: natsInfraPolicies,
});
