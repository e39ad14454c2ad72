/** "nats-1 at ssh://admin@10.0.0.6" across Docker hosts; the node's name alone on the local one. */
export const nodeAt = (result: { node: string; dockerHost?: string }) => (result.dockerHost ? `${result.node} at ${result.dockerHost}` : result.node);
