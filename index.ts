// The Pulumi program: the current stack's config into one NatsCluster, and its outputs.
// Everything else lives in config/, render/ and components/.
import { NatsCluster } from "./components/natsCluster";

const cluster = NatsCluster.fromStackConfig("nats");

/** `pulumi stack output --show-secrets credentials`: per service user, password, account, URL. */
export const credentials = cluster.credentials;
/** Per account with streams, KV buckets or object stores: the reconciler's user and password (see docs/streams.md). */
export const jetstreamAdmins = cluster.jetstreamAdmins;
/** The read-only user of natscli's operator checks: `{ user, password, account, url, inboxPrefix, jsApiPrefixes }` (docs/operations.md). */
export const observer = cluster.observer;
export const endpoints = cluster.endpoints;
export const permissions = cluster.permissions;
export const natsContainer = cluster.natsContainer.name;
export const dataVolume = cluster.dataVolume.name;
/** With `monitoring.prometheus.enabled`: `{ prometheus, grafana? }` URLs on docker.bindAddress (docs/monitoring.md); absent otherwise. */
export const monitoring = cluster.monitoring?.endpoints;
/** With `monitoring.grafana.enabled`: Grafana's `{ user, password, url }`, secret. */
export const grafanaAdmin = cluster.monitoring?.grafanaAdmin;
