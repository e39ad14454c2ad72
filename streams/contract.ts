// What NatsStreams (components/natsStreams.ts) writes on the reconciler's stdin and what
// `cli/streams.ts --from-stdin` reads: one account's validated streams, keyed by stream name so
// that preview shows a change as `streams: { EVENTS: { maxMsgs: 1000000 => 2000000 } }`.
// The JSON is a Pulumi resource input: if accountStdin wrote other bytes for the same config,
// every deployed stack's next `pulumi up` would run an update. Keep its output stable.
import { StackConfigError } from "../config/load";
import { streamSchema, type StreamDeclaration } from "../config/streams";

export interface AccountStdin {
  account: string;
  streams: StreamDeclaration[];
}

/** The JSON form: streams keyed by name, each the parsed (defaults filled) declaration. */
export function accountStdin(account: string, streams: StreamDeclaration[]): string {
  return JSON.stringify({ account, streams: Object.fromEntries(streams.map((s) => [s.name, s])) });
}

/** Stdin that is not the contract's JSON at all (a config problem inside it is a StackConfigError). */
export class StdinError extends Error {}

/**
 * Reads what accountStdin wrote, or a single nats-infra:streams entry (for a run by hand), and
 * validates every stream again: stdin may come from anywhere.
 */
export function parseAccountStdin(raw: string): AccountStdin {
  if (!raw.trim()) throw new StdinError('stdin is empty; pipe in {"account": ..., "streams": {...}} or one nats-infra:streams entry');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new StdinError(`not JSON: ${(error as Error).message}`);
  }
  const wrapped = json !== null && typeof json === "object" && "streams" in json && "account" in json;
  const entries: [string, unknown][] = wrapped ? Object.entries((json as { streams: Record<string, unknown> }).streams ?? {}) : [["(stdin)", json]];
  const streams = entries.map(([key, entry]) => {
    const parsed = streamSchema.safeParse(entry);
    if (!parsed.success) {
      throw new StackConfigError(
        parsed.error.issues.map((issue) => ({ path: `(stdin).${[key, ...issue.path].join(".")}`, value: "(see the stack config)", message: issue.message })),
      );
    }
    return parsed.data;
  });
  const misnamed = wrapped ? entries.filter(([key], i) => key !== streams[i].name).map(([key]) => key) : [];
  if (misnamed.length) throw new StdinError(`streams are keyed by their name; ${misnamed.join(", ")} holds a stream of another name`);
  const account = wrapped ? String((json as { account: unknown }).account) : streams[0].account;
  const strays = streams.filter((s) => s.account !== account).map((s) => s.name);
  if (strays.length) throw new StdinError(`streams ${strays.join(", ")} are not in account ${account}`);
  return { account, streams };
}
