// Stack-level checks on who may do what, read from the plain permission entries of the config
// command: every service can do something, and no service can publish everywhere or into the
// system account.
import type { StackValidationPolicy } from "@pulumi/policy";
import { isInboxGrant } from "../config/inboxes";
import { subjectCovers } from "../config/subjects";
import { withDefaults } from "./support/config";
import { isInternalUser, permissionEntries } from "./support/permissions";

export const servicesHavePermissions: StackValidationPolicy = {
  name: "services-have-permissions",
  description: "Every service may publish or subscribe to at least one subject besides its reply inbox.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const { found, problems } = permissionEntries(args.resources);
    for (const problem of problems) {
      reportViolation(`${problem.resource.name}: environment.${problem.key} is not a permissions entry (${problem.reason}); it is written by render/permissionsSummary.ts: re-render it instead of editing it.`, problem.resource.urn);
    }
    if (found.length === 0 && problems.length === 0) args.notApplicable("no NATS_PERMISSIONS_* entries in this stack");
    for (const { entry, resource } of found) {
      if (isInternalUser(entry.user)) continue;
      const subjects = [...entry.publish, ...entry.subscribe].filter((s) => !isInboxGrant(s));
      if (subjects.length === 0) {
        reportViolation(
          `service ${entry.user} (account ${entry.account}) may neither publish nor subscribe to any subject, so it cannot do anything: ` +
            `list its subjects under publish/subscribe of its entry in nats-infra:services, or remove the service.`,
          resource.urn,
        );
      }
    }
  },
};

export interface NoWidePublishConfig {
  forbiddenPublish: string[];
  includeInternalUsers: boolean;
}

const noWidePublishSchema = {
  properties: {
    forbiddenPublish: {
      type: "array" as const,
      items: { type: "string" as const },
      default: [">", "$SYS.>"],
      description: "Subjects no service may publish to; a publish pattern that covers one of them (e.g. \"*.>\" covers \"$SYS.>\") counts too.",
    },
    includeInternalUsers: { type: "boolean" as const, default: false, description: "Check nats-infra's internal users (names starting with \"_\") as well." },
  },
};

export const noWidePublish: StackValidationPolicy = {
  name: "no-wide-publish",
  description: "No service may publish to \">\" or \"$SYS.>\" (or whatever forbiddenPublish lists).",
  enforcementLevel: "advisory",
  configSchema: noWidePublishSchema,
  validateStack: (args, reportViolation) => {
    const config = withDefaults<NoWidePublishConfig>(noWidePublishSchema, args.getConfig());
    const { found } = permissionEntries(args.resources);
    if (found.length === 0) args.notApplicable("no NATS_PERMISSIONS_* entries in this stack");
    for (const { entry, resource } of found) {
      if (isInternalUser(entry.user) && !config.includeInternalUsers) continue;
      for (const pattern of entry.publish) {
        const covered = config.forbiddenPublish.filter((forbidden) => subjectCovers(pattern, forbidden));
        if (covered.length === 0) continue;
        reportViolation(
          `service ${entry.user} (account ${entry.account}) may publish to "${pattern}", which covers ${covered.map((s) => `"${s}"`).join(" and ")}: ` +
            `list the subjects it really publishes in nats-infra:services (publish), e.g. "${entry.user.replace(/-service$/, "")}.>".`,
          resource.urn,
        );
      }
    }
  },
};
