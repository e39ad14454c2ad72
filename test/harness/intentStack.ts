// What the per-intent client tests share (test/render/intentClients.server.test.ts for natscli
// and nats-py, test/inboxes/goClient.server.test.ts for nats.go): one service per JetStream
// intent, the ORDERS stream with a pull and a push consumer, a KV bucket and an object store, on
// private inboxes; and how a client left on the shared prefix is refused.
import type { StackConfigInput } from "../../config/schema";

type Service = NonNullable<StackConfigInput["services"]>[number];

/** One service per intent; `extra` services come first. */
export function intentStack(extra: Service[] = []): StackConfigInput {
  return {
    inboxes: "private",
    services: [
      ...extra,
      { name: "pub", jetstream: { publish: ["ORDERS"] } },
      { name: "puller", jetstream: { consume: [{ stream: "ORDERS", consumer: "puller" }] } },
      { name: "pusher", jetstream: { consume: [{ stream: "ORDERS", consumer: "pusher" }] } },
      { name: "reader", jetstream: { read: ["ORDERS"] } },
      { name: "kv-reader", jetstream: { kv: [{ bucket: "sessions", access: "read" }] } },
      { name: "kv-writer", jetstream: { kv: [{ bucket: "sessions", access: "write" }] } },
      { name: "obj-reader", jetstream: { objects: [{ store: "files", access: "read" }] } },
      { name: "obj-writer", jetstream: { objects: [{ store: "files", access: "write" }] } },
    ],
    streams: [
      {
        name: "ORDERS",
        subjects: ["orders.>"],
        consumers: [
          { name: "puller", filterSubjects: ["orders.pull"] },
          // A short ackWait: a message the server pushed before a client subscribed comes again soon.
          { name: "pusher", type: "push", deliverSubject: "deliver.pusher", filterSubjects: ["orders.push"], ackWait: "1s" },
        ],
      },
    ],
    kv: [{ bucket: "sessions", history: 5 }],
    objectStores: [{ store: "files", maxBytes: "16MB" }],
  };
}

/** The prefix a service's clients are told to use under private inboxes, in the words (not derived, so a renaming shows). */
export const privatePrefix = (service: string) => `_INBOX_${service}`;

/** The server's refusal of a client left on the shared prefix: its muxed reply subscription `_INBOX.<id>.*`. */
export const SHARED_INBOX_REFUSED = /Permissions Violation for Subscription to "_INBOX\.[A-Za-z0-9]+\.\*"/i;
