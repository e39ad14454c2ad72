// `nats-infra rotate <service>`: a new password for that one service (ops/rotate.ts). On the
// dev server it is applied at once by a reload; on a deployed stack the stack file is changed and
// the person previews and deploys it, as every other change of a deployed stack.
import path from "node:path";
import { DEFAULT_DEV_STATE_DIR, TargetError } from "../../ops/target";
import { RotateInputError, RotationNotAppliedError, rotateInStackFile, rotateOnDevServer, type DevRotation, type StackRotation } from "../../ops/rotate";
import { UsageError } from "../args";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";

const USAGE = `usage: npx nats-infra rotate <service> [--json] [target]

Gives one declared service a new password; every other user keeps its password and connections.
  --dev (or the default dev server)
      writes the new password into the state dir's credentials.json (for that service only) and
      has the running npx nats-infra dev apply it: render, nats-server -t, reload. Then checks that
      every node lets the service in with the new password and refuses the old one.
  --stack NAME
      raises services[<i>].passwordRotation in Pulumi.NAME.yaml by one (nothing else changes).
      It feeds that service's password only: npm run preview shows one password replaced, and
      npm run up installs it by a reload. rotate does not deploy: review and run up yourself.
Clients of the service that still use the old password are disconnected by the reload and
cannot reconnect: give them the new password (credentials.json, or the stack's credentials output).

Exit codes: 0 rotated, 1 not applied (the dev server did not pick it up; the old password was put
back) or the old password still accepted, 2 an unknown service or no --stack/--dev target,
3 the dev server does not answer (nothing changed).`;

export const command: Command = {
  name: "rotate",
  summary: "a new password for one service: applied by reload on the dev server, or passwordRotation for a stack",
  usage: USAGE,
  run: operate({ usage: USAGE, positionals: ["service"] }, async ({ flags, positionals, json, target, output }) => {
    const service = positionals[0];
    if (!service) throw new UsageError("give the service whose password to rotate");
    if (flags.url !== undefined || !target.config || !target.stackFile) {
      throw new TargetError("rotate changes a password where it is kept: use --stack NAME (the stack file) or --dev (the dev server's state dir)", "usage");
    }
    try {
      if (typeof flags.stack === "string") {
        const rotation = rotateInStackFile(target.stackFile, service);
        printData(output, json, rotation, () => stackText(rotation, flags.stack as string));
        return EXIT.ok;
      }
      const stateDir = path.resolve(typeof flags.dev === "string" ? flags.dev : DEFAULT_DEV_STATE_DIR);
      const rotation = await rotateOnDevServer(target, stateDir, service);
      printData(output, json, rotation, () => devText(rotation));
      return rotation.oldPasswordRefused ? EXIT.ok : EXIT.problem;
    } catch (error) {
      if (error instanceof RotateInputError) return output.err(`error: ${error.message}\n`), EXIT.usage;
      if (error instanceof RotationNotAppliedError) return output.err(`error: ${error.message}\n`), EXIT.problem;
      throw error;
    }
  }),
};

function devText(r: DevRotation): string {
  return [
    r.oldPasswordRefused
      ? `${r.service}: new password applied by reload on ${r.nodes.join(", ")}; the old password is refused`
      : `${r.service}: new password applied, but the old password is still accepted on some node: check the dev server's output`,
    `new password: ${shown(r.credentialsFile)} (${r.service})`,
    `clients of ${r.service} still using the old password were disconnected by the reload and cannot reconnect: restart them with the new one`,
  ].join("\n");
}

/** Relative to here when inside it, else absolute. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") ? relative : file;
}

function stackText(r: StackRotation, stack: string): string {
  const env = stack === "dev" ? "" : `NATS_INFRA_STACK=${stack} `;
  return [
    `${path.basename(r.stackFile)}: ${r.key} = ${r.to} (was ${r.from ?? "unset"}): ${r.service} gets a new password at the next deployment`,
    "next:",
    `  ${env}npm run preview   shows that one password replaced (${r.service}'s) and the config command updated`,
    `  ${env}npm run up        installs it by a reload; ${r.service}'s clients on the old password are disconnected`,
    `  then hand ${r.service} its new password: ${env}npm run -s outputs | jq '.credentials["${r.service}"]'`,
  ].join("\n");
}
