// The stack the eavesdropping tests run: a responder, two victims that make requests and read a
// KV bucket and an object store, a writer that fills both, and two eavesdroppers, both on the
// shared inbox (which a service may list for itself in every mode):
//  - tap: as wide as a service can get, publish and subscribe `>` (and `_INBOX.>` listed too).
//    Under private inboxes the config refuses it: a deny on the victims' prefixes would not
//    stop JetStream's pushes into them (delivered under the stream's subjects), so a wildcard
//    that reaches there is not allowed at all (config/validate.ts). It runs in the control only;
//  - snoop: the shape of the reported bug, a service allowed its own subject trees and the
//    shared `_INBOX.>`, here every tree the victims' traffic uses, named, without a wildcard
//    first token; under private inboxes nothing it may subscribe to reaches their inboxes.
// Only the stack's `inboxes` differs between the private stack and its control.

export type InboxesMode = "private" | "shared";

export const RESPONDER = "responder";
export const VICTIMS = ["victim-a", "victim-b"] as const;
export type Victim = (typeof VICTIMS)[number];
export const WRITER = "writer";
export const BUCKET = "secrets";
export const STORE = "vault";
/** Where the victims' requests go: `svc.echo.<victim>`, answered by the responder. */
export const ECHO = "svc.echo";

/**
 * Each victim's private prefix by name, written out here rather than taken from
 * config/inboxes.ts, so a change of the naming there shows up as a failure here.
 */
const victimInboxes = VICTIMS.map((v) => `_INBOX_${v}.>`);

export const EAVESDROPPERS = {
  tap: {
    service: { publish: [">"], subscribe: [">", "_INBOX.>"] },
    listens: [">", "_INBOX.>", ...victimInboxes],
    refused: (mode: InboxesMode): readonly string[] => (mode === "private" ? victimInboxes : []),
  },
  snoop: {
    // It publishes the tests' canaries to each subscription it holds (support/eavesdrop.ts).
    service: { publish: ["canary.>", "_INBOX.canary.>", "svc.canary.>", "$KV.canary.>", "$O.canary.>"], subscribe: ["svc.>", "$JS.>", "$KV.>", "$O.>", "canary.>", "_INBOX.>"] },
    listens: ["_INBOX.>", "svc.>", "$KV.>", "$O.>", "canary.>", ...victimInboxes],
    // Its allows never cover another's prefix, in either mode.
    refused: (_mode: InboxesMode): readonly string[] => victimInboxes,
  },
} as const;
export type EavesdropperName = keyof typeof EAVESDROPPERS;
export const EAVESDROPPER_NAMES = Object.keys(EAVESDROPPERS) as EavesdropperName[];

/** Who can be in a stack of this mode: under private inboxes the config refuses tap. */
export const eavesdroppersOf = (mode: InboxesMode): EavesdropperName[] => (mode === "private" ? ["snoop"] : EAVESDROPPER_NAMES);

export function eavesdropStack(inboxes: InboxesMode, replicas = 1, eavesdroppers: readonly EavesdropperName[] = eavesdroppersOf(inboxes)): Record<string, unknown> {
  const reads = { kv: [{ bucket: BUCKET, access: "read" }], objects: [{ store: STORE, access: "read" }] };
  return {
    inboxes,
    services: [
      // Answers through allow_responses; makes no requests, so it has no inbox at all.
      { name: RESPONDER, subscribe: ["svc.>"], requests: false },
      ...VICTIMS.map((name) => ({ name, publish: ["svc.>"], jetstream: reads })),
      { name: WRITER, jetstream: { kv: [{ bucket: BUCKET, access: "write" }], objects: [{ store: STORE, access: "write" }] } },
      ...eavesdroppers.map((name) => ({ name, inbox: "shared", ...EAVESDROPPERS[name].service })),
    ],
    kv: [{ bucket: BUCKET, history: 5, replicas }],
    objectStores: [{ store: STORE, replicas }],
  };
}
