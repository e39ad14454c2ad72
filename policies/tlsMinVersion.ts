// TLS, where enabled, refuses protocol versions older than 1.2. The policy reads the rendered
// nats.conf that the config command writes (a plain-text environment entry, so preview shows it).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import { COMMAND_TYPE, commandEnvironment } from "./support/entries";
import { tlsBlocks } from "./support/natsConfTls";
import { UNKNOWN } from "./support/values";

/**
 * What nats-server accepts when a tls block has no min_version. Checked on 2.14.10: a TLS 1.1
 * handshake gets a protocol_version alert, 1.2 and 1.3 complete; "1.1" as min_version is
 * refused at start ("unsupported TLS version").
 */
export const SERVER_DEFAULT_MIN_VERSION = "1.2";

export interface TlsMinVersionConfig {
  minimumVersion: "1.2" | "1.3";
  natsConfEnvKeys: string[];
}

const configSchema = {
  properties: {
    minimumVersion: { type: "string" as const, enum: ["1.2", "1.3"], default: "1.2", description: "Oldest TLS version a tls block may accept." },
    natsConfEnvKeys: {
      type: "array" as const,
      items: { type: "string" as const },
      default: ["NATS_CONF"],
      description: "Environment keys of command:local:Command resources that hold a rendered nats.conf.",
    },
  },
};

export const tlsMinVersion: ResourceValidationPolicy = {
  name: "tls-min-version",
  description: "Every TLS block of the rendered nats.conf sets min_version to 1.2 or newer.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    if (args.type !== COMMAND_TYPE) return;
    const config = withDefaults<TlsMinVersionConfig>(configSchema, args.getConfig());
    const entries = commandEnvironment(args.props);
    if (entries === UNKNOWN) return;
    const fix = `set nats-infra:tls.minVersion to "${config.minimumVersion}" or newer (pulumi config set --path 'nats-infra:tls.minVersion' ${config.minimumVersion})`;
    for (const entry of entries.filter((e) => config.natsConfEnvKeys.includes(e.key))) {
      for (const block of tlsBlocks(entry.value)) {
        if (block.minVersion === undefined) {
          if (versionBelow(SERVER_DEFAULT_MIN_VERSION, config.minimumVersion)) {
            reportViolation(`${args.name}: the ${block.path} block of ${entry.where} has no min_version, so it accepts the server's default TLS ${SERVER_DEFAULT_MIN_VERSION}, older than ${config.minimumVersion}: ${fix}.`);
          }
        } else if (versionBelow(block.minVersion, config.minimumVersion)) {
          reportViolation(`${args.name}: the ${block.path} block of ${entry.where} accepts TLS ${block.minVersion}, older than ${config.minimumVersion}: ${fix}.`);
        }
      }
    }
  },
};

/** True when `version` is older than `minimum`, or not a version at all. */
function versionBelow(version: string, minimum: string): boolean {
  const parse = (v: string) => v.split(".").map(Number);
  const [a, b] = [parse(version), parse(minimum)];
  if (a.some(Number.isNaN) || a.length === 0) return true;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i] ?? 0, b[i] ?? 0];
    if (x !== y) return x < y;
  }
  return false;
}
