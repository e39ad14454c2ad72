// Synthetic stack configs of a chosen size, shaped like the dev stack: each service owns its
// subjects, announces events, asks its neighbour for data; each stream has one pull consumer.
// Deterministic, so two processes given the same size build the same config.

export interface StackSize {
  services: number;
  streams: number;
}

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(4, "0")}`;
}

export function syntheticService(i: number, count: number) {
  const name = serviceName(i);
  const neighbour = serviceName((i + 1) % count);
  return {
    name,
    publish: [`${name}.>`, `events.${name}`, `${neighbour}.get`],
    subscribe: [`${name}.>`, "events.*"],
  };
}

export function syntheticStream(j: number) {
  const name = `STREAM_${String(j).padStart(4, "0")}`;
  return {
    name,
    subjects: [`stream${j}.>`],
    storage: "file",
    maxMsgs: 100_000,
    maxAge: "24h",
    consumers: [{ name: `reader-${j}`, type: "pull", ackPolicy: "explicit" }],
  };
}

/** Raw stack config (keys without `nats-infra:`), as readStackFile returns it. */
export function syntheticStack({ services, streams }: StackSize): Record<string, unknown> {
  return {
    services: Array.from({ length: services }, (_, i) => syntheticService(i, services)),
    jetstream: { maxMemoryStore: "1GB", maxFileStore: "50GB", syncInterval: "1s" },
    server: { maxConnections: 10000, maxPayload: "1MB", pingInterval: "20s" },
    streams: Array.from({ length: streams }, (_, j) => syntheticStream(j)),
  };
}
