// Reads the field tables of fields.ts: the server config of a declaration, the fields where the
// server differs, and for each difference whether the server refuses it in place, what it
// would remove from the stored messages, and what else it means.
import type { Field } from "./fields";
import type { DataLoss, LossContext } from "./losses";
import type { Change, Note } from "./plan";

/** The server config the rows make of a declaration. */
export function serverConfig<D, S>(rows: readonly Field<D, S>[], declared: D): Partial<S> {
  return Object.assign({}, ...rows.map((row) => row.toServer(declared)));
}

/** A field whose desired value differs from the server's, with the values as compared and as shown. */
export interface FieldDiff<D = any, S = any> {
  row: Field<D, S>;
  have: unknown;
  want: unknown;
  /** The field as named in plans: `maxMsgs`, `consumers[billing].ackWait`. */
  field: string;
  from: string;
  to: string;
}

export function differences<D, S>(rows: readonly Field<D, S>[], desired: Partial<S>, actual: Partial<S>, prefix = ""): FieldDiff<D, S>[] {
  return rows.flatMap((row) => {
    const want = row.read(desired);
    const have = row.read(actual);
    if (JSON.stringify(want) === JSON.stringify(have)) return [];
    return [{ row, have, want, field: prefix + row.key, from: row.show(have), to: row.show(want) }];
  });
}

/** The change as the plan carries it: names and shown values only. */
export const asChange = ({ field, from, to }: FieldDiff): Change => ({ field, from, to });

/** Why the server refuses this change in place, or undefined when it can make it. */
export function fixedProblem(diff: FieldDiff): string | undefined {
  const { fixed } = diff.row;
  if (!fixed || !(fixed.when?.(diff.have, diff.want) ?? true)) return undefined;
  const why = typeof fixed.why === "function" ? fixed.why(diff.have, diff.want) : fixed.why;
  return `${why} (${diff.from} -> ${diff.to})`;
}

/** What else a person should know about this change, if anything. */
export function noteOf(diff: FieldDiff): Note | undefined {
  const what = diff.row.note?.(diff.want, diff.have);
  return what === undefined ? undefined : { field: diff.field, what };
}

/** What this change removes from the stored messages, if anything; an empty stream loses nothing. */
export function lossOf(diff: FieldDiff, context: LossContext): DataLoss | undefined {
  if (context.info.state.messages === 0) return undefined;
  return diff.row.loss?.(diff.want, diff.have, context);
}
