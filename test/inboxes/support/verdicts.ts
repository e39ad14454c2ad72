// What each stack must show, whichever client eavesdrops: with private inboxes nothing the
// victims got back reaches an eavesdropper and the server refuses it their prefixes; on the
// shared inbox (the control) all of it does, so the same run can and does catch a leak.
import { expect } from "vitest";
import { REQUESTS_PER_VICTIM, type EavesdropReport } from "./eavesdrop";
import { EAVESDROPPERS, VICTIMS } from "./eavesdropStack";

export function expectNothingHeard(report: EavesdropReport): void {
  const { listens, refused } = EAVESDROPPERS[report.eavesdropper];
  expect(report.victimsMissed, "what the victims did not get").toEqual([]);
  expect({ heard: report.secretsHeard, on: report.leakedOn }, "the victims' secrets the eavesdropper heard, and the subjects they came on").toEqual({ heard: secrets(() => 0), on: {} });
  // The server refused the victims' prefixes by name (and filtered them out of any wildcard).
  expect(report.heldByServer).toEqual(listens.filter((s) => !refused("private").includes(s)));
  expect(report.refusedToClient).toEqual(refused("private"));
  expect(Object.keys(report.heard).filter((kind) => kind.startsWith("_INBOX_"))).toEqual([]);
  // It was listening while the victims worked: it heard every request they sent.
  expect(report.requestsHeard).toBe(VICTIMS.length * REQUESTS_PER_VICTIM);
}

export function expectEverythingHeard(report: EavesdropReport): void {
  const { listens, refused } = EAVESDROPPERS[report.eavesdropper];
  expect(report.victimsMissed, "what the victims did not get").toEqual([]);
  expect(report.secretsHeard).toEqual(secrets((of) => of));
  expect(report.heldByServer).toEqual(listens.filter((s) => !refused("shared").includes(s)));
  expect(report.refusedToClient).toEqual(refused("shared"));
}

/** Every kind of secret with how many there are, and how many of them `heard` says were heard. */
function secrets(heard: (of: number) => number): EavesdropReport["secretsHeard"] {
  const of = { reply: VICTIMS.length * REQUESTS_PER_VICTIM, "kv get": 3, "kv history": 2, object: 2 };
  return Object.fromEntries(Object.entries(of).map(([kind, n]) => [kind, { heard: heard(n), of: n }])) as EavesdropReport["secretsHeard"];
}
