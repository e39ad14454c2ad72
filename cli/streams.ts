// `npm run streams -- --stack-file Pulumi.<stack>.yaml --url nats://127.0.0.1:4222[,...] [--dry-run]`:
// makes the server's JetStream streams and consumers match the stack config, like `terraform
// apply` for streams, and prints the plan first. The Pulumi component runs the same code for one
// account at a time (`apply --from-stdin`). Credentials come from the environment only.
import { parseStackConfig, readStackFile } from "../config/load";
import { kvStreamName, objectStreamName, type KvDeclaration, type ObjectStoreDeclaration, type StreamDeclaration } from "../config/streams";
import { natsUsers } from "../config/users";
import { parseFlags, processOutput, runCommand, UsageError, type Output } from "./args";
import { EXIT } from "./command";
import { parseAccountStdin, StdinError, type AccountStdin } from "../streams/contract";
import { planName } from "../streams/plan";
import { reconcile } from "../streams/reconcile";

export const USAGE = `usage: npx nats-infra streams --stack-file Pulumi.<stack>.yaml --url nats://host:4222[,...] [--dry-run] [--account NAME] [--stream NAME]
       npx nats-infra streams plan ...             same as --dry-run: print the plan, change nothing
       npx nats-infra streams apply --from-stdin   one account's streams, as the Pulumi command runs it (below)
       npx nats-infra streams forget --from-stdin  say that the account's streams left the config and are kept
       (npm run streams -- ... and tsx cli/streams.ts ... are the same)

  --stack-file  the stack config with nats-infra:streams
  --url         the server as reached from here (or NATS_URL); for a cluster, every node's URL,
                comma-separated, so the run works while any one node is down
  --dry-run     print the plan and change nothing
  --account     only the streams of this account
  --stream      only the stream of this name
  --from-stdin  read one account's streams from stdin: {"account": "APP", "streams": {"<name>": <entry>}}
                (validated nats-infra:streams entries), or a single entry; optionally also
                "kv": {"<bucket>": <entry>} and "objectStores": {"<store>": <entry>}

Credentials (environment only): NATS_PASSWORD, or NATS_PASSWORD_<ACCOUNT> when several accounts
have streams; NATS_USER(_<ACCOUNT>) defaults to the account's JetStream admin _jsadmin_<ACCOUNT>.
Replies arrive under the user's inbox prefix: the stack config's, else _INBOX_<user> for
nats-infra's own users (_jsadmin_<ACCOUNT>); NATS_INBOX_PREFIX(_<ACCOUNT>) overrides it (a stack
deployed before private inboxes grants its admins _INBOX only: NATS_INBOX_PREFIX=_INBOX).

Nothing is ever deleted unless the stream says allowDelete: true and marks it delete: true.
Exit codes: 0 done or nothing to do, 1 refused changes (those streams were left exactly as they
were) or another error, 2 bad usage or an invalid config, 3 the server cannot be reached.`;


type Declaration = StreamDeclaration | KvDeclaration | ObjectStoreDeclaration;

interface Selected {
  streams: StreamDeclaration[];
  kv: KvDeclaration[];
  objectStores: ObjectStoreDeclaration[];
  /** JetStream accounts to look at for streams the config does not declare. */
  accounts: string[];
  where: Map<Declaration, string>;
  wholeConfig: boolean;
  /** Each user's inbox prefix, from the stack config (absent for --from-stdin). */
  inboxPrefixes?: Map<string, string>;
}

function fromStackFile(file: string, flags: Record<string, string | boolean>, output: Output): Selected {
  const { config, warnings } = parseStackConfig(readStackFile(file));
  for (const warning of warnings) output.err(`warning: ${warning.path}: ${warning.message}\n`);
  const where = new Map<Declaration, string>();
  config.streams.forEach((stream, i) => where.set(stream, `nats-infra:streams[${i}]`));
  config.kv.forEach((kv, i) => where.set(kv, `nats-infra:kv[${i}]`));
  config.objectStores.forEach((store, i) => where.set(store, `nats-infra:objectStores[${i}]`));
  // --stream names a stream, or the stream under a bucket or store (KV_<bucket>, OBJ_<store>).
  const selects = (account: string, name: string) =>
    (typeof flags.account !== "string" || account === flags.account) && (typeof flags.stream !== "string" || name === flags.stream);
  const streams = config.streams.filter((s) => selects(s.account, s.name));
  const kv = config.kv.filter((b) => selects(b.account, kvStreamName(b.bucket)));
  const objectStores = config.objectStores.filter((o) => selects(o.account, objectStreamName(o.store)));
  if (streams.length + kv.length + objectStores.length === 0 && flags.stream) throw new UsageError("no stream of the stack config matches --account/--stream");
  const accounts = config.jetstream.enabled
    ? config.accounts.filter((a) => a.jetstream !== false && (typeof flags.account !== "string" || a.name === flags.account)).map((a) => a.name)
    : [];
  if (typeof flags.account === "string" && accounts.length === 0) throw new UsageError(`--account ${flags.account}: no JetStream account of that name in the stack config`);
  const inboxPrefixes = new Map(natsUsers(config).map((u) => [u.user, u.inboxPrefix]));
  return { streams, kv, objectStores, accounts, where, wholeConfig: typeof flags.stream !== "string", inboxPrefixes };
}

/** Stdin per the contract with NatsStreams; not the contract's JSON is a usage error here. */
function parseStdin(raw: string): AccountStdin {
  try {
    return parseAccountStdin(raw);
  } catch (error) {
    if (error instanceof StdinError) throw new UsageError(`--from-stdin: ${error.message}`);
    throw error;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The exit code when nothing went wrong: 0, or EXIT.problem for refused streams. */
async function main(argv: string[], output: Output): Promise<number> {
  argv = [...argv];
  const mode = argv[0] && !argv[0].startsWith("--") ? argv.shift()! : "apply";
  if (!["apply", "plan", "forget"].includes(mode)) throw new UsageError(`unknown command "${mode}"`);
  const flags = parseFlags(argv, { strings: ["stack-file", "url", "account", "stream"], booleans: ["dry-run", "from-stdin", "help"] });
  if (flags.help) {
    output.out(`${USAGE}\n`);
    return 0;
  }

  if (mode === "forget") {
    // Runs when Pulumi deletes a stream's command. It never fails: there is nothing to undo.
    let which = "the streams";
    try {
      const { account, streams } = parseStdin(flags["from-stdin"] ? await readStdin() : "");
      which = `${streams.length === 1 ? "stream" : "streams"} ${streams.map((st) => st.name).join(", ")} (account ${account})`;
    } catch {
      // Only the message loses the streams' names.
    }
    output.out(
      `${which} no longer managed by this stack: nats-infra leaves them on the server with their messages and consumers.\n` +
        `To delete a stream, declare it again with allowDelete: true and delete: true.\n`,
    );
    return 0;
  }

  const url = typeof flags.url === "string" ? flags.url : process.env.NATS_URL;
  if (!url) throw new UsageError("--url (or NATS_URL) is required");
  let selected: Selected;
  if (flags["from-stdin"]) {
    // The whole account's declaration: streams of the account that it lacks are reported (kept).
    const { account, streams, kv = [], objectStores = [] } = parseStdin(await readStdin());
    selected = { streams, kv, objectStores, accounts: [account], where: new Map(), wholeConfig: true };
  } else if (typeof flags["stack-file"] === "string") {
    selected = fromStackFile(flags["stack-file"], flags, output);
  } else {
    throw new UsageError("give --stack-file, or --from-stdin with an account's streams as JSON on stdin");
  }

  const result = await reconcile(selected.streams, {
    url,
    env: process.env,
    dryRun: mode === "plan" || flags["dry-run"] === true,
    reportOthers: selected.wholeConfig,
    accounts: selected.wholeConfig ? selected.accounts : [],
    kv: selected.kv,
    objectStores: selected.objectStores,
    where: (declaration) => selected.where.get(declaration),
    inboxPrefixOf: (user) => selected.inboxPrefixes?.get(user),
    log: (text) => output.out(`${text}\n`),
  });
  if (result.refused.length === 0) return 0;
  const them = result.refused.length === 1 ? "it was" : "they were";
  output.err(`error: refused ${result.refused.map(planName).join(", ")}: see the options above; ${them} left exactly as ${them}.\n`);
  return EXIT.problem;
}

/** The command on its arguments and output. Errors exit as runCommand says; refused streams are a problem found (1). */
export async function streams(argv: string[], output: Output = processOutput): Promise<number> {
  let code = 0;
  const failed = await runCommand(USAGE, async () => void (code = await main(argv, output)), output);
  return failed || code;
}

if (require.main === module) void streams(process.argv.slice(2)).then((code) => (process.exitCode = code));
