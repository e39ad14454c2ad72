// `nats-infra restore <dir>`: a backup's streams and consumers back onto the servers, each then
// checked against the manifest.
import { MANIFEST_FILE } from "../../ops/backupManifest";
import { restore, type StreamRestore } from "../../ops/restore";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";
import { backupDir, count, refuseBadInput, selectionOf } from "./backup";

const USAGE = `usage: npx nats-infra restore <dir> [--stream NAMES] [--account NAMES] [--force] [--json] [target]

Restores the streams of a backup made by \`nats-infra backup\` with their consumers, then checks
each against ${MANIFEST_FILE}: message count, first and last sequence and the content hash of
every message, and each consumer's position. The backup is checked before anything changes, and
a stream that exists is never replaced without --force. Works as each account's JetStream admin (_jsadmin_<ACCOUNT>).
Exit codes: 0 restored and verified, 1 refused or a mismatch found, 2 not a (whole) backup or bad
usage, 3 no server answers.

  --stream NAMES    only these streams (comma-separated)
  --account NAMES   only the streams of these accounts (comma-separated)
  --force           replace streams that exist: their messages and consumers are deleted first`;

export const command: Command = {
  name: "restore",
  summary: "a backup's streams and consumers back, verified against its manifest",
  usage: USAGE,
  run: operate({ usage: USAGE, strings: ["stream", "account"], booleans: ["force"], positionals: ["dir"] }, (context) =>
    refuseBadInput(context.output, async () => {
      const dir = backupDir(context, "restore from");
      const { json, output, target } = context;
      const outcome = await restore({ dir, target, selection: selectionOf(context), force: context.flags.force === true, onStream: (r) => !json && output.out(`${streamLine(r)}\n`) });
      if ("refused" in outcome) {
        printData(output, json, { restored: false, refused: outcome.refused }, () =>
          ["refused, nothing changed:", ...outcome.refused.map((r) => `  ${r.stream}: ${r.reason}`)].join("\n"),
        );
        return EXIT.problem;
      }
      const verified = outcome.streams.every((s) => s.ok);
      printData(output, json, { restored: true, verified, backup: { startedAt: outcome.manifest.startedAt, source: outcome.manifest.source }, streams: outcome.streams }, () =>
        verified
          ? `restored ${outcome.streams.length} stream(s) from ${dir} (backup of ${outcome.manifest.startedAt}); every one matches the manifest`
          : `restored from ${dir}, but ${outcome.streams.filter((s) => !s.ok).length} stream(s) do not match the manifest (above)`,
      );
      return verified ? EXIT.ok : EXIT.problem;
    }),
  ),
};

function streamLine(result: StreamRestore): string {
  const { content } = result;
  const during = content.publishedDuringBackup ? `; ${count(content.publishedDuringBackup)} of them published during the backup` : "";
  // Past the last message: a message the server counted while the snapshot ran, but did not copy (see ContentCheck).
  const streamLast = content.streamLastSeq > content.lastSeq ? `; stream last sequence ${count(content.streamLastSeq)}` : "";
  const head = `${result.account}/${result.name}  ${result.replaced ? "replaced" : "restored"}: ${count(content.messages)} messages (seq ${count(content.firstSeq)}..${count(content.lastSeq)}${during}${streamLast})`;
  const check = !content.verified ? "messages not verified (the backup has no content hash, see its manifest)" : content.problems.length ? "" : "count, sequences and content hash match the manifest";
  const consumers = result.consumers
    .filter((c) => c.problems.length === 0)
    .map((c) => `consumer ${c.name} at ack floor ${count(c.ackFloor!)}${c.ackFloor! > c.expectedAckFloor! ? ` (the manifest's ${count(c.expectedAckFloor!)}; acknowledged since)` : " as in the manifest"}`);
  const problems = [...content.problems, ...result.consumers.flatMap((c) => c.problems)].map((p) => `\n  MISMATCH: ${p}`);
  return `${head}, ${[check, ...consumers].filter(Boolean).join("; ")} (${result.seconds} s)${problems.join("")}`;
}
