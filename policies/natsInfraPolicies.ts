// Every policy of the nats-infra pack, in one list that the pack (index.ts) and the tests
// share. Importing this module starts nothing: only `new PolicyPack` (index.ts) serves.
import type { Policies } from "@pulumi/policy";
import { clusterRouteTls } from "./clusterRouteTls";
import { jetstreamDataRetained } from "./jetstreamDataRetained";
import { loopbackPorts } from "./loopbackPorts";
import { memoryLimits } from "./memoryLimits";
import { noPasswordLeaks } from "./noPasswordLeaks";
import { noPlaintextSecrets } from "./noPlaintextSecrets";
import { passwordLength } from "./passwordLength";
import { pinnedImages } from "./pinnedImages";
import { privateInboxes } from "./privateInboxes";
import { noWidePublish, servicesHavePermissions } from "./servicePermissions";
import { tlsMinVersion } from "./tlsMinVersion";

export const POLICY_PACK_NAME = "nats-infra";

export const natsInfraPolicies: Policies = [
  loopbackPorts,
  pinnedImages,
  memoryLimits,
  noPlaintextSecrets,
  noPasswordLeaks,
  jetstreamDataRetained,
  tlsMinVersion,
  clusterRouteTls,
  servicesHavePermissions,
  noWidePublish,
  privateInboxes,
  passwordLength,
];

export {
  clusterRouteTls,
  jetstreamDataRetained,
  loopbackPorts,
  memoryLimits,
  noPasswordLeaks,
  noPlaintextSecrets,
  noWidePublish,
  passwordLength,
  pinnedImages,
  privateInboxes,
  servicesHavePermissions,
  tlsMinVersion,
};
