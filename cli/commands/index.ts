// Every nats-infra command, in the order `--help` lists them. A new command is its module in
// this folder plus one line here.
import type { Command } from "../command";
import { command as dev } from "./dev";
import { command as health } from "./health";
import { command as monitor } from "./monitor";
import { command as render } from "./render";
import { command as status } from "./status";
import { command as streams } from "./streams";

export const COMMANDS: Command[] = [dev, health, monitor, render, status, streams];
