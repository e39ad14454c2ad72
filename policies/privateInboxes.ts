// Flags services that still receive replies on the shared `_INBOX.>`: every other service of the
// account granted the same reads their replies (docs/inboxes.md). Read from the plain permission
// entries of the config command, so it sees what the deployment really grants.
import type { StackValidationPolicy } from "@pulumi/policy";
import { INBOX_WILDCARD } from "../config/inboxes";
import { isInternalUser, permissionEntries } from "./support/permissions";

export const privateInboxes: StackValidationPolicy = {
  name: "private-inboxes",
  description: "No service receives its replies on the shared _INBOX.>, where the other services of its account can read them.",
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    const { found } = permissionEntries(args.resources);
    if (found.length === 0) args.notApplicable("no NATS_PERMISSIONS_* entries in this stack");
    // Surveyor, the one internal user on _INBOX.>, is alone with it in the system account.
    const shared = found.filter(({ entry }) => !isInternalUser(entry.user) && entry.subscribe.includes(INBOX_WILDCARD));
    for (const { entry, resource } of shared) {
      const others = shared.filter((o) => o.entry.account === entry.account && o.entry.user !== entry.user).map((o) => o.entry.user);
      reportViolation(
        `service ${entry.user} (account ${entry.account}) receives its replies on the shared _INBOX.>` +
          (others.length ? `, which ${others.join(", ")} may read too` : ", which every service of its account granted it may read") +
          `: give its clients the inboxPrefix of its credentials, then set nats-infra:inboxes: private (or inbox: private on this service) (docs/inboxes.md).`,
        resource.urn,
      );
    }
  },
};
