/** What turning monitoring on creates in a NatsCluster named "nats", sorted: nothing else is new. */
export const MONITORING_RESOURCES = [
  "nats-auth-events",
  "nats-grafana",
  "nats-grafana-admin-password",
  "nats-grafana-data",
  "nats-grafana-image",
  "nats-password-_auth_events",
  "nats-prometheus",
  "nats-prometheus-data",
  "nats-prometheus-image",
];
