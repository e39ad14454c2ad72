// Part "auth": the blast radius of auth changes under mocks, and the same kind of change on a
// real nats-server with steady traffic, reload (ours) next to restart (the old reset-auth).
import { benchBlastRadius } from "./authBlastRadius";
import { AUTH_CHANGES, benchAuthReload } from "./authReload";
import { machine, writeResults } from "./support/report";
import { toolPath } from "../test/harness/tools";

export async function benchAuth(): Promise<void> {
  const blastRadius = benchBlastRadius();
  const live = await benchAuthReload();
  const file = writeResults("auth", {
    machine: machine({ natsServer: toolPath("nats-server") }),
    blastRadius,
    live: { changes: AUTH_CHANGES, rows: live.rows, results: live.results },
  });
  console.log(`\nwrote ${file}`);
}
