// Proof that an eavesdropper is listening, so that hearing nothing means something. Before the
// victims start, the server must hold (or have refused) each subscription it asked for, read
// from /connz of every node, and a canary published on every node must have reached each
// subscription it holds: on a cluster, every route carries its interest. After they finish, a
// second round must have arrived: on each route a canary follows whatever the victims' traffic
// put on it before, so nothing is still on its way.
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { sleep, waitFor } from "../../harness/natsServer";
import { natsMatch } from "../../harness/permissionProbe";
import type { Deployment } from "./eavesdrop";
import type { EavesdropperName } from "./eavesdropStack";
import type { Eavesdropper } from "./eavesdroppers";

/** The name of the canary publishers' connections, which are the eavesdropper's user too. */
export const CANARY = "eavesdrop-canary";

const token = (label: string) => `${label}-${randomBytes(8).toString("hex")}`;

/** Until the server holds or has refused every subscription the eavesdropper asked for. */
export async function untilSettled(deployment: Deployment, who: EavesdropperName, eavesdropper: Eavesdropper, listens: string[]): Promise<string[]> {
  let held: string[] = [];
  await waitFor(
    async () => {
      held = await heldByServer(deployment, who, listens);
      const refused = eavesdropper.refused();
      return listens.every((s) => held.includes(s) || refused.includes(s));
    },
    15_000,
    () => `${who} on ${eavesdropper.client}: the server holds ${JSON.stringify(held)}, refused ${JSON.stringify(eavesdropper.refused())}, of ${JSON.stringify(listens)}:\n${eavesdropper.text().slice(-2000)}`,
  );
  return held;
}

/**
 * From every node, a canary to each subscription the server holds (its `>` replaced by
 * `canary.<label>`), until the eavesdropper heard each as often as its held subscriptions match
 * it. Private prefixes are left out: the eavesdropper may not publish there, nor should it hold them.
 */
export async function untilHeard(canaries: NatsConnection[], eavesdropper: Eavesdropper, held: string[], label: string): Promise<void> {
  const patterns = held.filter((s) => !s.startsWith("_INBOX_"));
  const pending = canaries.flatMap((nc, node) => patterns.map((pattern) => ({ nc, node, subject: pattern.replace(/>$/, `canary.${label}`) })));
  const occurrences = (text: string, payload: string) => text.split(payload).length - 1;
  await waitFor(
    async () => {
      const sent = pending.map((c) => ({ ...c, payload: token(`canary-${label}-${c.node}`) }));
      for (const c of sent) c.nc.publish(c.subject, c.payload);
      await Promise.all(canaries.map((nc) => nc.flush()));
      await sleep(50);
      const text = eavesdropper.text();
      for (const c of sent) {
        if (occurrences(text, c.payload) >= held.filter((s) => natsMatch(s, c.subject)).length) pending.splice(pending.findIndex((p) => p.nc === c.nc && p.subject === c.subject), 1);
      }
      return pending.length === 0;
    },
    15_000,
    () => `${eavesdropper.client} did not hear the ${label} canaries ${JSON.stringify(pending.map((p) => `${p.subject} from node ${p.node}`))}:\n${eavesdropper.text().slice(-2000)}`,
  );
}

/** The subscriptions of the eavesdropper's own connections (not the canary's) on every node, in the order asked. */
export async function heldByServer(deployment: Deployment, who: EavesdropperName, listens: string[]): Promise<string[]> {
  const held = new Set<string>();
  for (const monitorUrl of deployment.monitorUrls) {
    const connz = (await (await fetch(`${monitorUrl}/connz?subs=1&auth=true&limit=1000`)).json()) as {
      connections?: { name?: string; authorized_user?: string; subscriptions_list?: string[] }[];
    };
    for (const c of connz.connections ?? []) {
      if (c.authorized_user === who && c.name !== CANARY) for (const s of c.subscriptions_list ?? []) held.add(s);
    }
  }
  return listens.filter((s) => held.has(s)).concat([...held].filter((s) => !listens.includes(s)).sort());
}
