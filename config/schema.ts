// The stack config a person edits (keys under `nats-infra:` in Pulumi.<stack>.yaml), as zod
// schemas. Parsing turns human sizes and durations into numbers once, here, so the renderers
// and components work with plain typed values.
import { z } from "zod";
import { clusterSchema } from "./clusterSchema";
import { dockerCpus, dockerKeepsCpus } from "./dockerReadBack";
import { DEFAULT_ACCOUNT, duration, hostPath, imageOverride, port, size, subject, SYSTEM_ACCOUNT } from "./primitives";
import { monitoringSchema } from "./monitoring";
export { DEFAULT_ACCOUNT, SYSTEM_ACCOUNT };
import { kvBucketsSchema, objectStoresSchema, STREAM_NAME_PATTERN, streamsSchema } from "./streams";

/**
 * How a service receives replies (config/inboxes.ts).
 * shared: `_INBOX.>`, what every stack had before (and what a stack file without `inboxes` keeps).
 * both: `_INBOX.>` and the service's own prefix, for the time its clients move to the prefix.
 * private: the service's own prefix only.
 */
export const INBOX_MODES = ["shared", "both", "private"] as const;
export type InboxMode = (typeof INBOX_MODES)[number];
const inboxMode = z.enum(INBOX_MODES, 'one of "private" (its own inbox prefix), "both" (its prefix and the shared _INBOX, while its clients move) or "shared" (_INBOX.>)');

export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
export const ACCOUNT_NAME_PATTERN = /^[A-Z][A-Z0-9_-]{0,62}$/;

export const serviceName = z
  .string()
  .regex(SERVICE_NAME_PATTERN, "service names are 1-63 lowercase letters, digits and dashes, starting with a letter (they become NATS user names)");

export const accountName = z
  .string()
  .regex(ACCOUNT_NAME_PATTERN, "account names are 1-63 uppercase letters, digits, '_' and '-', starting with a letter")
  .refine((name) => name !== SYSTEM_ACCOUNT, `"${SYSTEM_ACCOUNT}" is the system account, which nats-infra manages itself; pick another name`);

const ROTATION_HELP = "a whole number from 1 up; nats-infra rotate raises it by one";

/** A stream or consumer the service names in its JetStream intent; validate.ts checks it is declared. */
const declaredName = z.string().regex(STREAM_NAME_PATTERN, "a stream or consumer name declared under nats-infra:streams (letters, digits, '_' and '-')");

/** A KV bucket or object store the service names in its intent; validate.ts checks it is declared. */
const declaredStore = (what: string, key: string) => z.string().min(1, `the name of a ${what} declared under nats-infra:${key}`);
/** read: get, list and watch; write: read, and put and delete entries (never the whole bucket or store). */
const storeAccess = z.enum(["read", "write"], "access is read (get, list, watch) or write (read, and put and delete)");

/** JetStream access as intent, compiled into subjects by config/jetstreamIntent.ts. */
export const jetstreamIntentSchema = z
  .object({
    /** Streams the service publishes to with acks: it may publish to their subjects. */
    publish: z.array(declaredName).default([]),
    /** Declared durable consumers the service reads through (fetch, consume, ack). */
    consume: z.array(z.object({ stream: declaredName, consumer: declaredName }).strict()).default([]),
    /** Streams whose state and single messages (by sequence, last by subject) the service may read. */
    read: z.array(declaredName).default([]),
    // kv and objects have no default, so the intent of a service without them (as the preview
    // summary shows it) reads exactly as before they existed.
    /** KV buckets (nats-infra:kv) of the service's account it reads, or reads and writes. */
    kv: z.array(z.object({ bucket: declaredStore("KV bucket", "kv"), access: storeAccess }).strict()).optional(),
    /** Object stores (nats-infra:objectStores) of the service's account it reads, or reads and writes. */
    objects: z.array(z.object({ store: declaredStore("object store", "objectStores"), access: storeAccess }).strict()).optional(),
  })
  .strict();

export const serviceSchema = z
  .object({
    /** NATS user name of the service. */
    name: serviceName,
    /** Account the service lives in; services in one account share subjects. */
    account: accountName.default(DEFAULT_ACCOUNT),
    /** Subjects the service may publish to. */
    publish: z.array(subject).default([]),
    /** Subjects (or patterns) the service may subscribe to. */
    subscribe: z.array(subject).default([]),
    /** Let the service make requests: grants subscribe on its inbox, where replies arrive. */
    requests: z.boolean().default(true),
    /** Its inbox (config/inboxes.ts), when it differs from the stack's `inboxes`: for a staged rollout of clients. */
    inbox: inboxMode.optional(),
    /** Let the service answer requests it received, without publish rights on other inboxes. */
    responses: z.boolean().default(true),
    /** JetStream access as intent; the subjects it needs are added to publish and subscribe. */
    jetstream: jetstreamIntentSchema.optional(),
    /**
     * Raised by `nats-infra rotate <service>` to give this one service a new password: it feeds
     * the password's `keepers`, so a new number replaces only that password. Absent (the
     * default) means the password was never rotated, and it gets no keepers at all: adding them
     * to an existing password would replace it.
     */
    passwordRotation: z.number().int(ROTATION_HELP).min(1, ROTATION_HELP).optional(),
  })
  .strict();

const exportSchema = z.union([
  z.object({ stream: subject }).strict(),
  z.object({ service: subject }).strict(),
]);

const importSchema = z.union([
  z.object({ stream: subject, account: accountName }).strict(),
  z.object({ service: subject, account: accountName, to: subject.optional() }).strict(),
]);

export const accountSchema = z
  .object({
    name: accountName,
    /** JetStream for this account: on with server limits (true), off (false), or per-account limits. */
    jetstream: z
      .union([
        z.boolean(),
        z
          .object({
            maxMemory: size.optional(),
            maxFile: size.optional(),
            maxStreams: z.number().int().min(1).optional(),
            maxConsumers: z.number().int().min(1).optional(),
          })
          .strict(),
      ])
      .default(true),
    /** Subjects other accounts may import from this one. */
    exports: z.array(exportSchema).default([]),
    /** Subjects this account imports from another account's exports. */
    imports: z.array(importSchema).default([]),
  })
  .strict();

export const jetstreamSchema = z
  .object({
    enabled: z.boolean().default(true),
    maxMemoryStore: size.prefault("1GB"),
    maxFileStore: size.prefault("50GB"),
    /** How often the file store fsyncs: a duration, or "always" (slowest, safest). */
    syncInterval: z.union([z.literal("always"), duration]).default("1s"),
  })
  .strict();

/** A nats.conf value as JSON or YAML writes it; nats.conf has no null. */
export type NatsConfValue = string | number | boolean | NatsConfValue[] | { [key: string]: NatsConfValue };

/** A map whose refused key is reported with the key schema's message, not zod's "Invalid key in record". */
function mapWithCheckedKeys<V extends z.ZodType>(key: z.ZodType<string>, value: V, notAMap: string) {
  return z.record(key, value, {
    error: (issue) => (issue.code === "invalid_key" ? (issue.issues as { message: string }[] | undefined)?.[0]?.message : notAMap),
  });
}

const natsConfValue: z.ZodType<NatsConfValue> = z.lazy(() =>
  z.union(
    [
      z.string(),
      z.number(),
      z.boolean(),
      z.array(natsConfValue),
      // The server reads a quoted map key up to the next '"', with no escapes (render/natsValue.ts).
      mapWithCheckedKeys(z.string().regex(/^[^"\u0000-\u001f\u007f]+$/, "a map key cannot be empty or hold '\"' or control characters"), natsConfValue, "must be a map"),
    ],
    { error: "must be a string, number, boolean, list or map (nats.conf has no null)" },
  ),
);

/** server.extra: top-level nats.conf settings nats-infra does not model (config/serverOptions.ts). */
// Keys that would override a modelled setting are refused in config/validate.ts, from the table.
const extraSettings = mapWithCheckedKeys(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a nats.conf setting name: letters, digits and "_", not starting with a digit'),
  natsConfValue,
  "must be a map of nats.conf settings, such as { max_control_line: 4096 }",
);

export const serverSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/, "server names are letters, digits, '_' and '-'").default("nats-0"),
    clientPort: port.default(4222),
    monitorPort: port.default(8222),
    maxConnections: z.number().int().min(1).default(10000),
    maxPayload: size.prefault("1MB"),
    pingInterval: duration.default("20s"),
    maxPingsOut: z.number().int().min(1).default(2),
    writeDeadline: duration.default("10s"),
    /** Time a stopping server takes to move clients away before it exits. */
    lameDuckDuration: duration.default("30s"),
    lameDuckGracePeriod: duration.default("10s"),
    /** Top-level nats.conf settings nats-infra does not model, written as given. */
    extra: extraSettings.optional(),
  })
  .strict();

export const tlsSchema = z
  .object({
    /** Paths on the Docker host (or this host, for a local render). */
    cert: hostPath,
    key: hostPath,
    ca: hostPath.optional(),
    /** Require client certificates signed by `ca`. */
    verify: z.boolean().default(false),
    minVersion: z.enum(["1.2", "1.3"]).default("1.2"),
  })
  .strict();


/** Docker refuses a container memory limit below 6 MiB (its daemon's minimum). */
export const DOCKER_MIN_MEMORY = 6 * 1024 ** 2;

export const dockerSchema = z
  .object({
    /** Prefix for container, network and volume names on the Docker host. */
    namePrefix: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,40}$/, "lowercase letters, digits, '_', '.', '-'").default("nats-infra"),
    /**
     * Host address every published port binds to. Loopback keeps NATS off the network; anything
     * else is a deliberate choice the policy pack flags unless allowed there.
     */
    bindAddress: z.union([z.ipv4(), z.ipv6()], { error: "an IP address such as 127.0.0.1" }).default("127.0.0.1"),
    /** Directory on the Docker host that holds nats.conf and auth.conf (bind-mounted read-only). */
    configDir: hostPath.refine((dir) => dir.startsWith("/"), "must be an absolute path (Docker bind-mounts it)").optional(),
    nats: z
      .object({
        image: imageOverride,
        // Docker refuses fewer than 0.01 CPUs.
        cpus: z
          .number()
          .min(0.01, "at least 0.01 (Docker's minimum); a whole number such as 2 gives that many CPUs")
          .superRefine((cpus, ctx) => {
            if (!dockerKeepsCpus(cpus)) {
              // One decimal place always survives the provider's rounding.
              const kept = Math.max(0.1, Math.round(cpus * 10) / 10);
              ctx.addIssue({ code: "custom", message: `the Docker provider reads ${cpus} back as "${dockerCpus(cpus)}", so every update would replace the container; use a value with at most one decimal place, such as ${kept}` });
            }
          })
          .default(2),
        // 0 would mean "no limit" to Docker and render GOMEMLIMIT=0MiB; Docker refuses less than 6 MiB.
        memory: size.pipe(z.number().min(DOCKER_MIN_MEMORY, 'at least 6MiB, Docker\'s minimum (there is no "unlimited" here: give the memory the server may use, e.g. "2G")')).prefault("2G"),
        restart: z.enum(["no", "on-failure", "always", "unless-stopped"]).default("unless-stopped"),
        // Docker's json-file driver: a positive number with k, m or g.
        logMaxSize: z.string().regex(/^[1-9]\d*[kmg]$/, 'a positive size such as "10m" (k, m or g)').default("10m"),
        logMaxFiles: z.number().int().min(1).default(3),
      })
      .strict()
      .prefault({}),
    /** Named volume for JetStream data. It is never deleted by `pulumi destroy`. */
    // The local volume driver makes a directory of this name, so the file-name limit applies.
    dataVolume: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "a Docker volume name").max(255, "Docker volume names are at most 255 characters").optional(),
    surveyor: z
      .object({ enabled: z.boolean().default(true), port: port.default(7777), image: imageOverride })
      .strict()
      .prefault({}),
    natsBox: z.object({ enabled: z.boolean().default(false), image: imageOverride }).strict().prefault({}),
  })
  .strict();

export const stackConfigSchema = z
  .object({
    services: z.array(serviceSchema).min(1, "declare at least one service"),
    accounts: z.array(accountSchema).default([{ name: DEFAULT_ACCOUNT, jetstream: true, exports: [], imports: [] }]),
    /**
     * Where services receive replies: "private" (each its own prefix, no service reads another's
     * replies), "both" or "shared". Absent means shared, the grants of every stack deployed before
     * private inboxes existed; new stacks say private (docs/inboxes.md).
     */
    inboxes: inboxMode.default("shared"),
    jetstream: jetstreamSchema.prefault({}),
    server: serverSchema.prefault({}),
    tls: tlsSchema.optional(),
    docker: dockerSchema.prefault({}),
    /** How many servers, and where; one (the default) is a single server without routes. */
    cluster: clusterSchema.prefault({}),
    streams: streamsSchema.default([]),
    /** KV buckets and object stores: streams underneath, reconciled like streams (docs/streams.md). */
    kv: kvBucketsSchema.default([]),
    objectStores: objectStoresSchema.default([]),
    /** Prometheus with alert rules and Grafana with dashboards, generated from the stack (docs/monitoring.md). */
    monitoring: monitoringSchema.prefault({}),
  })
  .strict();

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type StackConfig = z.output<typeof stackConfigSchema>;
export type ServiceConfig = StackConfig["services"][number];
export type AccountConfig = StackConfig["accounts"][number];
export type StreamConfig = StackConfig["streams"][number];
