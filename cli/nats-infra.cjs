#!/usr/bin/env node
// `npx nats-infra <command>`: the operations command. Runs cli/main.ts through the repository's
// tsx, so there is no build step; `npx nats-infra --help` lists the commands.
require("tsx/cjs");
const { main } = require("./main.ts");
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
