// JetStream data lives on a named Docker volume that outlives the stack. What a policy can see
// decides the check: resource options reach policies without retainOnDelete (the analyzer's
// resource options carry protect, ignoreChanges, aliases, timeouts, deleteBeforeReplace,
// additionalSecretOutputs and parent only), so a stack-managed volume passes when it is
// protected, or when it carries RETAIN_LABEL, which nats-infra sets next to retainOnDelete.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { LABELS } from "../config/container";
import { withDefaults } from "./support/config";
import { CONTAINER_TYPE, labelValue, VOLUME_TYPE } from "./support/entries";
import { NATS_IMAGE_NAMES_SCHEMA, runsNatsServer } from "./support/natsContainer";
import { asArray, known, plain, UNKNOWN } from "./support/values";

export const RETAIN_LABEL = LABELS.retainOnDelete;

export interface JetstreamDataRetainedConfig {
  dataPath: string;
  acceptRetainLabel: boolean;
  natsImageNames: string[];
}

const configSchema = {
  properties: {
    dataPath: { type: "string" as const, default: "/data", description: "Directory in the nats container that holds JetStream's store_dir." },
    acceptRetainLabel: {
      type: "boolean" as const,
      default: true,
      description: `Accept a volume labelled ${RETAIN_LABEL}=true as retained (policies cannot see retainOnDelete); false requires protect.`,
    },
    natsImageNames: NATS_IMAGE_NAMES_SCHEMA,
  },
};

interface DataMount {
  field: string;
  kind: "volume" | "bind" | "anonymous";
  name?: string;
}

export const jetstreamDataRetained: StackValidationPolicy = {
  name: "jetstream-data-retained",
  description: "JetStream data of every nats container is on a named volume that survives resource deletion (protect, or retainOnDelete declared by label).",
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: (args, reportViolation) => {
    const config = withDefaults<JetstreamDataRetainedConfig>(configSchema, args.getConfig());
    const containers = args.resources.filter((r) => r.type === CONTAINER_TYPE && runsNatsServer(r.props, config.natsImageNames));
    if (containers.length === 0) args.notApplicable("no nats-server container in this stack");
    const volumes = args.resources.filter((r) => r.type === VOLUME_TYPE);
    for (const container of containers) {
      const mount = dataMount(container, config.dataPath);
      if (mount === UNKNOWN) continue;
      const useVolume = `mount a named volume there: volumes: [{ volumeName: "<name>", containerPath: "${config.dataPath}" }]`;
      if (mount === undefined) {
        reportViolation(`${container.name}: nothing is mounted on ${config.dataPath}, so JetStream data lives in the container and is lost when it is replaced: ${useVolume}.`, container.urn);
        continue;
      }
      if (mount.kind === "anonymous") {
        reportViolation(`${container.name}: ${mount.field} mounts an anonymous volume on ${config.dataPath}, which nothing finds again after a replacement: ${useVolume}.`, container.urn);
        continue;
      }
      if (mount.kind === "bind") {
        reportViolation(`${container.name}: ${mount.field} binds a host directory on ${config.dataPath}, which neither Docker nor Pulumi tracks: ${useVolume}.`, container.urn);
        continue;
      }
      const volume = volumes.find((v) => known(() => plain(v.props.name)) === mount.name);
      // A volume this stack does not manage is outside its lifecycle: deleting the stack keeps it.
      if (!volume) continue;
      const labelled = config.acceptRetainLabel && labelValue(volume.props, RETAIN_LABEL) === "true";
      if (!volume.opts.protect && !labelled) {
        reportViolation(
          `${volume.name}: volume "${mount.name}" holds JetStream data of ${container.name} but would be deleted with the stack or on replacement: ` +
            `create it with { retainOnDelete: true } and the label ${RETAIN_LABEL}=true (policies cannot see retainOnDelete), or with { protect: true }.`,
          volume.urn,
        );
      }
    }
  },
};

function dataMount(container: PolicyResource, dataPath: string): DataMount | undefined | typeof UNKNOWN {
  const volumes = known(() => asArray(plain(container.props.volumes)));
  const mounts = known(() => asArray(plain(container.props.mounts)));
  if (volumes === UNKNOWN || mounts === UNKNOWN) return UNKNOWN;
  const holds = (target: unknown) => typeof target === "string" && (dataPath === target || dataPath.startsWith(target.replace(/\/$/, "") + "/"));
  for (const [index, raw] of volumes.entries()) {
    const v = (raw ?? {}) as Record<string, unknown>;
    if (!holds(v.containerPath)) continue;
    const field = `volumes[${index}]`;
    if (typeof v.volumeName === "string" && v.volumeName !== "") return { field, kind: "volume", name: v.volumeName };
    return { field, kind: typeof v.hostPath === "string" && v.hostPath !== "" ? "bind" : "anonymous" };
  }
  for (const [index, raw] of mounts.entries()) {
    const m = (raw ?? {}) as Record<string, unknown>;
    if (!holds(m.target)) continue;
    const field = `mounts[${index}]`;
    if (m.type === "volume" && typeof m.source === "string" && m.source !== "") return { field, kind: "volume", name: m.source };
    return { field, kind: m.type === "bind" ? "bind" : "anonymous" };
  }
  return undefined;
}
