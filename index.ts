// The Pulumi program: read and validate the stack config, create the cluster, export outputs.
// Everything else lives in config/, render/ and components/.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, StackConfigError, stripNamespace } from "./config/load";
import { NatsCluster } from "./components/natsCluster";

function readConfig() {
  const raw = Object.fromEntries(
    Object.entries(stripNamespace(pulumi.runtime.allConfig())).map(([key, value]) => [key, parseConfigValue(String(value))]),
  );
  try {
    const parsed = parseStackConfig(raw);
    for (const warning of parsed.warnings) pulumi.log.warn(`${warning.path}: ${warning.message}`);
    return parsed.config;
  } catch (error) {
    // RunError prints the message alone: the person sees what to fix, not a stack trace.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** Structured values arrive as JSON text; plain strings (e.g. `pulumi config set x y`) as is. */
function parseConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const config = readConfig();
const configDir = config.docker.configDir ?? path.resolve(".nats-infra", pulumi.getStack(), "config");
const cluster = new NatsCluster("nats", { config, configDir });

/** `pulumi stack output --show-secrets credentials`: per service user, password, account, URL. */
export const credentials = cluster.credentials;
/** Per account with streams: the stream reconciler's user and password (see README, Streams). */
export const jetstreamAdmins = cluster.jetstreamAdmins;
export const endpoints = cluster.endpoints;
export const permissions = cluster.permissions;
export const natsContainer = cluster.natsContainer.name;
export const dataVolume = cluster.dataVolume.name;
