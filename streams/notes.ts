// What a person should know about a change the server makes in place without losing data, said
// in the plan under the change. One check per field that has one, referenced from that field's
// row in fields.ts (as losses.ts is for changes that remove messages).

/** `want` and `have` are the row's compared values; undefined when there is nothing to say. */
export type NoteCheck = (want: unknown, have: unknown) => string | undefined;

/**
 * nats-server 2.14 scales a stream in place either way (checked on 2.14.10): up, the new replicas
 * copy the stored messages in the background; down, it keeps the current leader's copy and
 * removes the others only once they have caught up (and flushes it before going to one). Its
 * consumers, created without a replica count of their own, follow the stream's.
 */
export const replicasNote: NoteCheck = (want, have) => {
  const [to, from] = [want as number, have as number];
  if (to > from) {
    const added = to - from === 1 ? "the new replica copies" : `the ${to - from} new replicas copy`;
    return `scaled up in place: ${added} the stored messages in the background; the consumers follow`;
  }
  return `scaled down in place, no message is deleted (the server keeps the leader's copy); the consumers follow. Fewer copies: ${redundancy(to)}`;
};

/** What a stream of `replicas` copies survives: a quorum, more than half of them, must be up. */
function redundancy(replicas: number): string {
  const spare = Math.floor((replicas - 1) / 2);
  if (replicas === 1) return "one server then holds the messages; the stream is unavailable while it is down, and losing its disk loses them";
  if (spare === 0) return `the stream is then unavailable while either of its ${replicas} servers is down`;
  return `the stream then stays available with up to ${spare} of its ${replicas} servers down`;
}
