// Every nats-infra command, in the order `--help` lists them. A new command is its module in
// this folder plus one line here.
import type { Command } from "../command";
import { command as backup } from "./backup";
import { command as clean } from "./clean";
import { command as dev } from "./dev";
import { command as health } from "./health";
import { command as logs } from "./logs";
import { command as monitor } from "./monitor";
import { command as render } from "./render";
import { command as restart } from "./restart";
import { command as restore } from "./restore";
import { command as rotate } from "./rotate";
import { command as start } from "./start";
import { command as status } from "./status";
import { command as stop } from "./stop";
import { command as streams } from "./streams";
import { command as testAuth } from "./testAuth";

export const COMMANDS: Command[] = [backup, clean, dev, health, logs, monitor, render, restart, restore, rotate, start, status, stop, streams, testAuth];
