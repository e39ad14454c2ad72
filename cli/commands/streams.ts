// `nats-infra streams`: the streams reconciler (cli/streams.ts) under the one entry point.
import type { Command } from "../command";
import { streams, USAGE } from "../streams";

export const command: Command = {
  name: "streams",
  summary: "make the servers' JetStream streams and consumers match the stack config (plan, apply)",
  usage: USAGE,
  run: streams,
};
