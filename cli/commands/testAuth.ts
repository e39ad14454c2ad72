// `nats-infra test-auth`: for every declared service, on every node, as that service: its
// password connects, a wrong one is refused, and the server's effective publish, subscribe and
// response permissions are the declared ones (ops/testAuth.ts says how, with no message
// delivered). Exit 1 on any difference, with what only the server grants and what only the
// config declares.
import { ASPECTS, failed, testAuth, USER_INFO_SUBJECT, type AspectCheck, type ServiceCheck, type TestAuthResult } from "../../ops/testAuth";
import { TargetError } from "../../ops/target";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";
import { table } from "./status";

const USAGE = `usage: npx nats-infra test-auth [--json] [target]

For every service of the stack config, on every node, connecting as that service:
  connects         its password (the target's credentials) is accepted
  wrong password   a wrong password is refused (Authorization Violation)
  publish, subscribe, responses
                   the server's effective permissions equal the declared ones
No message is delivered to anyone. The server's own lists are read from ${USER_INFO_SUBJECT}
where it answers the service (its publish permissions must allow that subject); elsewhere the
server's verdict on probe subjects (every subject of the stack, wildcards made concrete, and
canaries) is compared with the declared verdict, and allow_responses is not checked.
The target must have a stack config (--stack or --dev; with --url there is none).

Exit codes: 0 every service as declared, 1 a difference (listed: what only the server grants,
what only the config declares), 2 no stack config, 3 no node answers.`;

export const command: Command = {
  name: "test-auth",
  summary: "every service connects, a wrong password is refused, the live permissions equal the declared ones",
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
  const header = ["service", ...(clustered ? ["node"] : []), "connects", "wrong password", "publish", "subscribe", "responses", "read by"];
  const rows = result.checks.map((c) => [
    c.service,
    ...(clustered ? [c.node] : []),
    c.connects ? "ok" : "FAILED",
    c.wrongPasswordRefused === undefined ? "-" : c.wrongPasswordRefused ? "refused" : "ACCEPTED",
    aspectCell(c.publish),
    aspectCell(c.subscribe),
    aspectCell(c.responses),
    c.readBy === "user-info" ? USER_INFO_SUBJECT : c.readBy === "probe" ? `probes (${c.probes})` : "-",
  ]);
  const problems = result.checks.flatMap(problemLines);
  const sections = [table(header, rows), problems.length ? ["problems:", ...problems.map((p) => `  ${p}`)].join("\n") : "every service as declared"];
  if (result.checks.some((c) => c.readBy === "probe")) {
    sections.push(`read by probes: the server refused ${USER_INFO_SUBJECT} to the service, as its declared permissions do; allow_responses shows only when a request reaches the service, so it is not checked there`);
  }
  return sections.join("\n\n");
}

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
  return lines;
}
