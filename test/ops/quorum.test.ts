import { describe, expect, test } from "vitest";
import { quorumLoss } from "../../ops/quorum";

const nodes = (answers: boolean[]) => answers.map((a, i) => ({ name: `nats-${i}`, answers: a }));

describe("quorum of a cluster's nodes", () => {
  test("a majority answering, or a single server, is no loss", () => {
    expect(quorumLoss(nodes([true]))).toBeUndefined();
    expect(quorumLoss(nodes([false]))).toBeUndefined();
    expect(quorumLoss(nodes([true, true, false]))).toBeUndefined();
    expect(quorumLoss(nodes([true, false, true, true, false]))).toBeUndefined();
  });

  test("fewer than a majority: how many answer, how many are needed, and which nodes are silent", () => {
    const loss = quorumLoss(nodes([true, false, false]));
    expect(loss).toMatchObject({ answering: 1, nodes: 3, needed: 2, silent: ["nats-1", "nats-2"] });
    expect(loss?.message).toMatch(/^quorum lost: 1 of 3 nodes answers and JetStream needs 2 \(a majority\)\. Until 1 more is back, .*Not answering: nats-1, nats-2\.$/);
    expect(quorumLoss(nodes([true, false]))?.needed).toBe(2);
    expect(quorumLoss(nodes([false, false, true, false, true]))?.message).toMatch(/2 of 5 nodes answer and JetStream needs 3 .* Until 1 more is back/);
    expect(quorumLoss(nodes([false, false, false]))?.message).toMatch(/0 of 3 nodes answer and JetStream needs 2 .* Until 2 more are back/);
  });
});
