// `nats-infra backup <dir>`: every stream (or the ones named) with its consumers, by the
// JetStream snapshot API, into a new directory; the manifest goes in last.
import { backup } from "../../ops/backup";
import { BackupInputError, MANIFEST_FILE, type BackupSelection, type StreamRecord } from "../../ops/backupManifest";
import { UsageError, type Output } from "../args";
import { EXIT, printData, type Command } from "../command";
import { operate, type OperateContext } from "../operate";
import { formatBytes } from "./status";

const USAGE = `usage: npx nats-infra backup <dir> [--stream NAMES] [--account NAMES] [--json] [target]

Backs up every stream of every account with streams into <dir>, a new or empty directory: per
stream the server's snapshot (its messages, its durable consumers and their positions), and, last,
${MANIFEST_FILE}, which restore checks against: a directory without it is a backup that did not
finish. Runs while clients publish; works as each account's JetStream admin (_jsadmin_<ACCOUNT>). The files hold every
message: they are owner-only, keep them so. Exit codes: 0 backed up, 1 a stream failed (no
manifest written), 2 bad usage or a used directory, 3 no server answers.

  --stream NAMES    only these streams (comma-separated)
  --account NAMES   only the streams of these accounts (comma-separated)`;

export const command: Command = {
  name: "backup",
  summary: "every stream with its consumers into a directory (JetStream snapshots and a manifest)",
  usage: USAGE,
  run: operate({ usage: USAGE, strings: ["stream", "account"], positionals: ["dir"] }, (context) =>
    refuseBadInput(context.output, async () => {
      const dir = backupDir(context, "back up into");
      const { json, output, target } = context;
      const started = performance.now();
      const manifest = await backup({ dir, target, selection: selectionOf(context), onStream: (record) => !json && output.out(`${streamLine(record)}\n`) });
      const seconds = (performance.now() - started) / 1000;
      const bytes = manifest.streams.flatMap((s) => s.files).reduce((sum, f) => sum + f.bytes, 0);
      printData(output, json, { dir, complete: manifest.streams.length > 0, bytes, seconds, ...manifest }, () =>
        [
          ...manifest.skipped.map((s) => `${s.account}/${s.stream}  skipped: ${s.reason}`),
          manifest.streams.length
            ? `backed up ${manifest.streams.length} stream(s) into ${dir}: ${formatBytes(bytes)} in ${seconds.toFixed(1)} s; ${MANIFEST_FILE} written last`
            : `nothing to back up from ${target.source}; nothing written`,
        ].join("\n"),
      );
      return EXIT.ok;
    }),
  ),
};

function streamLine(record: StreamRecord): string {
  const { messages, firstSeq, lastSeq } = record.state;
  const during = record.publishedDuringBackup.length ? ` + ${count(record.publishedDuringBackup.length)} published during the backup` : "";
  const archive = record.files.reduce((sum, f) => sum + f.bytes, 0);
  const note = record.contentNote ? `\n  warning: ${record.contentNote}` : "";
  return `${record.account}/${record.name}  ${count(messages)} messages (seq ${count(firstSeq)}..${count(lastSeq)})${during}, ${record.consumers.length} consumer(s), ${formatBytes(archive)} in ${record.seconds} s${note}`;
}

/** The directory argument, required. */
export function backupDir({ positionals }: OperateContext, what: string): string {
  if (!positionals[0]) throw new UsageError(`give the directory to ${what}`);
  return positionals[0];
}

/** --stream and --account, comma-separated lists. */
export function selectionOf({ flags }: OperateContext): BackupSelection {
  const list = (value: string | boolean | undefined) => (typeof value === "string" ? value.split(",").map((v) => v.trim()).filter(Boolean) : undefined);
  return { streams: list(flags.stream), accounts: list(flags.account) };
}

/** Input the command cannot use (not a backup, a used directory, a name not there): one line, exit 2. */
export async function refuseBadInput(output: Output, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof BackupInputError)) throw error;
    output.err(`error: ${error.message}\n`);
    return EXIT.usage;
  }
}

export const count = (n: number) => n.toLocaleString("en-US");
