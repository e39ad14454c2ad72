// `nats-infra test-auth`: for every declared service, on every node, as that service: its
// password connects, a wrong one is refused, and the server's effective publish, subscribe and
// response permissions are the declared ones (ops/testAuth.ts says how, with no message
// delivered), and it cannot read another user's replies (ops/testAuthInboxes.ts). Exit 1 on any
// difference, with what only the server grants and what only the config declares, or on a
// readable inbox, with whose replies and what to do.
import { ASPECTS, failed, testAuth, USER_INFO_SUBJECT, type AspectCheck, type ServiceCheck, type TestAuthResult } from "../../ops/testAuth";
import { TargetError } from "../../ops/target";
import { SHARED_INBOX_OWNER, type InboxCheck, type ReadableInbox } from "../../ops/testAuthInboxes";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";
import { table } from "./status";

const USAGE = `usage: npx nats-infra test-auth [--json] [target]

For every service of the stack config, on every node, connecting as that service:
  connects         its password (the target's credentials) is accepted
  wrong password   a wrong password is refused (Authorization Violation)
  publish, subscribe, responses
                   the server's effective permissions equal the declared ones
  inboxes          it cannot subscribe to another user's inbox prefix of its account, nor to
                   _INBOX.> where its own inbox is private (where the server accepts such a
                   subscription, a canary published there tells whether it would receive replies)
Services that share _INBOX.> (inboxes shared or both) are listed as a warning.
No message is delivered to anyone but, for that canary, the service itself. The server's own
lists are read from ${USER_INFO_SUBJECT} where it answers the service (its publish permissions
must allow that subject); elsewhere the server's verdict on probe subjects (every subject of the
stack, wildcards made concrete, and canaries) is compared with the declared verdict, and
allow_responses is not checked.
The target must have a stack config (--stack or --dev; with --url there is none).

Exit codes: 0 every service as declared, 1 a difference (listed: what only the server grants,
what only the config declares) or another's replies readable, 2 no stack config, 3 no node
answers.`;

export const command: Command = {
  name: "test-auth",
  summary: "every service connects, a wrong password is refused, the live permissions equal the declared ones, no one reads another's replies",
  usage: USAGE,
  run: operate({ usage: USAGE }, async ({ json, target, output }) => {
    if (!target.config) throw new TargetError(`test-auth compares the server with the stack config, and ${target.source} has none: use --stack NAME or --dev`, "usage");
    const result = await testAuth(target.config, target.nodes, target.credentials);
    if (result.unreachable.length === target.nodes.length) {
      output.err(`error: cannot reach the server: ${result.checks.filter((c) => c.unreachable).map((c) => c.error).join("; ")}\n`);
      return EXIT.unreachable;
    }
    const ok = !result.checks.some(failed);
    printData(output, json, { target: target.source, ok, ...result }, () => formatResult(result, target.nodes.length > 1));
    return ok ? EXIT.ok : EXIT.problem;
  }),
};

function formatResult(result: TestAuthResult, clustered: boolean): string {
  const header = ["service", ...(clustered ? ["node"] : []), "connects", "wrong password", "publish", "subscribe", "responses", "inboxes", "read by"];
  const rows = result.checks.map((c) => [
    c.service,
    ...(clustered ? [c.node] : []),
    c.connects ? "ok" : "FAILED",
    c.wrongPasswordRefused === undefined ? "-" : c.wrongPasswordRefused ? "refused" : "ACCEPTED",
    aspectCell(c.publish),
    aspectCell(c.subscribe),
    aspectCell(c.responses),
    inboxCell(c.inboxes),
    c.readBy === "user-info" ? USER_INFO_SUBJECT : c.readBy === "probe" ? `probes (${c.probes})` : "-",
  ]);
  const problems = result.checks.flatMap(problemLines);
  const sections = [table(header, rows), problems.length ? ["problems:", ...problems.map((p) => `  ${p}`)].join("\n") : "every service as declared"];
  if (result.warnings.length) sections.push(["warnings:", ...result.warnings.map((w) => `  ${w}`)].join("\n"));
  if (result.checks.some((c) => c.readBy === "probe")) {
    sections.push(`read by probes: the server refused ${USER_INFO_SUBJECT} to the service, as its declared permissions do; allow_responses shows only when a request reaches the service, so it is not checked there`);
  }
  return sections.join("\n\n");
}

/** private: every other inbox refused (or filtered); READABLE: one or more readable; -: none to try. */
const inboxCell = (check?: InboxCheck) => (check === undefined || check.tried.length === 0 ? "-" : check.ok ? "private" : "READABLE");

const aspectCell = (check?: AspectCheck) => (check === undefined ? "-" : check.ok === undefined ? "not checked" : check.ok ? "ok" : "MISMATCH");

function problemLines(check: ServiceCheck): string[] {
  const who = `${check.service} (${check.node})`;
  if (!check.connects) return [`${who}: does not connect: ${check.error}`];
  const lines: string[] = [];
  if (check.wrongPasswordRefused === false) lines.push(`${who}: a wrong password was not refused with Authorization Violation`);
  for (const aspect of ASPECTS) {
    const found = check[aspect];
    if (found?.ok !== false) continue;
    // `allow X` / `deny X`: a rule (read from the server) or a verdict (probes) only one side has.
    if (found.serverOnly.length) lines.push(`${who} ${aspect}: on the server, not declared: ${found.serverOnly.join(", ")}`);
    if (found.declaredOnly.length) lines.push(`${who} ${aspect}: declared, not on the server: ${found.declaredOnly.join(", ")}`);
  }
  for (const inbox of check.inboxes?.readable ?? []) lines.push(`${who} inboxes: ${readableLine(inbox)}`);
  return lines;
}

/** Which service could read whose replies, how it was seen, and what to do. */
function readableLine(inbox: ReadableInbox): string {
  const whose = inbox.owner === SHARED_INBOX_OWNER ? `the replies of every client of its account on the default prefix _INBOX, though its own inbox is private` : `${inbox.owner}'s replies`;
  const seen = inbox.proof === "received" ? "a canary published there reached it" : "the server accepted the subscription; the service may not publish a canary there to see whether it is filtered";
  return (
    `can read ${whose}: the server lets it subscribe to ${inbox.subject} (${seen}). ` +
    `The stack config denies that, so the live auth.conf is not the stack's: deploy it again (npm run up; a dev server: restart it), then run test-auth again.`
  );
}
