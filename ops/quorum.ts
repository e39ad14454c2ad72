// Whether enough of a cluster's nodes answer for JetStream to work. Every replicated thing in
// JetStream is a raft group (the meta group that owns stream and consumer definitions, and each
// stream and consumer with replicas), and a raft group elects a leader only with a majority of
// its members; the meta group spans every node. So with fewer than a majority of the nodes up,
// no stream or consumer can be created, changed or deleted, and a replicated stream whose
// majority is gone acknowledges no message. A node that answers with an error still counts as up
// (it is there, it just is not current); one that does not answer at all does not.

export interface NodeReach {
  name: string;
  /** The node's monitoring endpoint answered at all (any HTTP status). */
  answers: boolean;
}

export interface QuorumLoss {
  answering: number;
  nodes: number;
  /** A majority of the nodes: how many must answer. */
  needed: number;
  silent: string[];
  /** One line for a person: what is lost, why, and what brings it back. */
  message: string;
}

/** Undefined for a single server, or when a majority of the nodes answers. */
export function quorumLoss(nodes: readonly NodeReach[]): QuorumLoss | undefined {
  if (nodes.length < 2) return undefined;
  const needed = Math.floor(nodes.length / 2) + 1;
  const answering = nodes.filter((n) => n.answers).length;
  if (answering >= needed) return undefined;
  const silent = nodes.filter((n) => !n.answers).map((n) => n.name);
  const missing = needed - answering;
  const message =
    `quorum lost: ${answering} of ${nodes.length} nodes answer${answering === 1 ? "s" : ""} and JetStream needs ${needed} (a majority). ` +
    `Until ${missing} more ${missing === 1 ? "is" : "are"} back, no replicated stream acknowledges a message or delivers to its consumers, ` +
    `and no stream or consumer can be created, changed or deleted; nothing already acknowledged is lost. Not answering: ${silent.join(", ")}.`;
  return { answering, nodes: nodes.length, needed, silent, message };
}
