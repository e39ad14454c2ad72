// The stack the live monitoring tests run: the dev stack plus what every alert and panel needs to
// see something: a second stream with its own byte limit and a consumer read by its own service
// (the stream a new declaration adds to the dashboards), a publisher that fills it, and a
// test-only operator that may purge it. Clients connect as the product's credentials say,
// with the user's own inbox prefix.
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { readStackFile } from "../../../config/load";
import type { StackConfig } from "../../../config/schema";
import { natsUsers } from "../../../config/users";
import { DEV_STACK_FIXTURE } from "../../harness/tools";

export const AUDIT_STREAM = "AUDIT";
export const AUDIT_CONSUMER = "auditor";
export const AUDIT_SERVICE = "audit-service";
/** AUDIT's maxBytes: small, so a test fills past a share of it in a moment. */
export const AUDIT_MAX_BYTES = 1024 * 1024;
/** May purge AUDIT (test-only: no product user may). */
export const OPERATOR = "stream-operator";

export function monitoredStack(): Record<string, unknown> {
  const dev = readStackFile(DEV_STACK_FIXTURE);
  return {
    ...dev,
    services: [
      ...(dev.services as object[]),
      { name: AUDIT_SERVICE, publish: ["audit.>"], subscribe: [], jetstream: { publish: [AUDIT_STREAM], consume: [{ stream: AUDIT_STREAM, consumer: AUDIT_CONSUMER }] } },
      { name: OPERATOR, publish: [`$JS.API.STREAM.PURGE.${AUDIT_STREAM}`, `$JS.API.STREAM.INFO.${AUDIT_STREAM}`], subscribe: [] },
    ],
    streams: [...(dev.streams as object[]), { name: AUDIT_STREAM, subjects: ["audit.>"], maxBytes: AUDIT_MAX_BYTES, consumers: [{ name: AUDIT_CONSUMER }] }],
  };
}

/** A connection as `service`, with the inbox prefix its credentials carry. */
export async function connectAs(config: StackConfig, servers: string[], passwords: Record<string, string>, service: string): Promise<NatsConnection> {
  const user = natsUsers(config).find((u) => u.user === service);
  if (!user) throw new Error(`no user ${service} in the stack`);
  return connect({ servers, user: service, pass: passwords[service], inboxPrefix: user.inboxPrefix, name: `monitoring-test ${service}`, maxReconnectAttempts: -1 });
}
