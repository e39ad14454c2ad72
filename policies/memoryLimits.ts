// Every container has a memory limit, so one runaway process cannot take the Docker host down;
// nats-server also gets GOMEMLIMIT below that limit, because Go's garbage collector does not
// know about the container limit and would otherwise let the OOM killer end the server.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { goMemLimit, GOMEMLIMIT_SHARE } from "../config/container";
import { withDefaults } from "./support/config";
import { CONTAINER_TYPE, containerEnvs } from "./support/entries";
import { parseGoMemLimit } from "./support/goMemLimit";
import { NATS_IMAGE_NAMES_SCHEMA, runsNatsServer } from "./support/natsContainer";
import { known, plain, UNKNOWN } from "./support/values";

export interface MemoryLimitsConfig {
  goMemLimitMinPercent: number;
  goMemLimitMaxPercent: number;
  natsImageNames: string[];
}

const configSchema = {
  properties: {
    goMemLimitMinPercent: {
      type: "number" as const,
      minimum: 1,
      maximum: 100,
      default: 50,
      description: "Lowest GOMEMLIMIT, in percent of the container's memory limit (below it the server collects garbage needlessly often).",
    },
    goMemLimitMaxPercent: {
      type: "number" as const,
      minimum: 1,
      maximum: 100,
      default: 90,
      description: "Highest GOMEMLIMIT, in percent of the container's memory limit (leave room for non-heap memory).",
    },
    natsImageNames: NATS_IMAGE_NAMES_SCHEMA,
  },
};

const MIB = 1024 ** 2;

export const memoryLimits: ResourceValidationPolicy = {
  name: "memory-limits",
  description: "Every container has a memory limit; nats-server containers also set GOMEMLIMIT to a share of it.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER_TYPE) return;
    const config = withDefaults<MemoryLimitsConfig>(configSchema, args.getConfig());
    const memory = known(() => plain(args.props.memory));
    if (memory === UNKNOWN) return;
    if (typeof memory !== "number" || memory <= 0) {
      reportViolation(
        `container ${args.name} has no memory limit, so it may use all of the host's memory: set memory (in MB) on the container ` +
          `(for the nats container: nats-infra:docker.nats.memory, e.g. "2G").`,
      );
      return;
    }
    if (!runsNatsServer(args.props, config.natsImageNames)) return;
    const envs = containerEnvs(args.props);
    if (envs === UNKNOWN) return;
    const limitBytes = memory * MIB;
    const low = Math.floor((memory * config.goMemLimitMinPercent) / 100);
    const high = Math.floor((memory * config.goMemLimitMaxPercent) / 100);
    const advice = `set GOMEMLIMIT in envs to about ${GOMEMLIMIT_SHARE * 100}% of the memory limit, e.g. "GOMEMLIMIT=${goMemLimit(memory * MIB)}" for ${memory} MB`;
    const entry = envs.find((e) => e.key === "GOMEMLIMIT");
    if (!entry) {
      reportViolation(`nats container ${args.name} has no GOMEMLIMIT, so Go's garbage collector ignores the ${memory} MB limit and the OOM killer may end the server: ${advice}.`);
      return;
    }
    const bytes = parseGoMemLimit(entry.value);
    if (entry.value.trim() === "off") {
      reportViolation(`nats container ${args.name} sets GOMEMLIMIT=off, which turns the limit off: ${advice}.`);
      return;
    }
    if (bytes === undefined) {
      // Checked with Go: a malformed GOMEMLIMIT is a fatal error at start, so the server would not run.
      reportViolation(`nats container ${args.name} sets GOMEMLIMIT="${entry.value}", which is not a limit Go reads (an integer with B, KiB, MiB, GiB or TiB; the server would exit at start): ${advice}.`);
      return;
    }
    const percent = (bytes / limitBytes) * 100;
    if (percent < config.goMemLimitMinPercent || percent > config.goMemLimitMaxPercent) {
      reportViolation(
        `nats container ${args.name} sets GOMEMLIMIT=${entry.value}, ${percent.toFixed(0)}% of its ${memory} MB limit; ` +
          `keep it between ${low} and ${high} MiB (${config.goMemLimitMinPercent}-${config.goMemLimitMaxPercent}%): ${advice}.`,
      );
    }
  },
};
