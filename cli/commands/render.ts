// `nats-infra render`: the render command (cli/render.ts) under the one entry point.
import type { Command } from "../command";
import { render, USAGE } from "../render";

export const command: Command = {
  name: "render",
  summary: "write nats.conf, auth.conf and credentials.json for a stack file (--local: for servers on this host)",
  usage: USAGE,
  run: render,
};
