// The permission probe's observers (permissionProbe.ts): one test-only service per account,
// allowed `>` both ways, that sees what a probed user really published and publishes what its
// subscriptions should (or should not) receive. They are not part of the stack under test, so
// they skip its validation: under private inboxes the config refuses a service whose wildcard
// reaches into others' inboxes, which an observer must be. The declared services are validated
// as they stand, and the observers are appended to the result.
import { parseStackConfig } from "../../config/load";
import { serviceSchema, type StackConfig } from "../../config/schema";

/** Observer service names: service names cannot start with "_", and no test service uses this prefix. */
export const OBSERVER_PREFIX = "zz-probe-observer-";

/** The raw stack config plus one observer service per account, allowed everything in its account. */
export function withObservers(raw: Record<string, unknown>): Record<string, unknown> {
  const accounts = accountNamesOf(raw);
  const observers = accounts.map((account, i) => ({
    name: `${OBSERVER_PREFIX}${i}`,
    account,
    publish: [">"],
    subscribe: [">"],
    requests: false,
    responses: false,
  }));
  return { ...raw, services: [...((raw.services as unknown[]) ?? []), ...observers] };
}

/** parseStackConfig, with the probe's observers (if `raw` has them) left out of the validation. */
export function parseWithObservers(raw: Record<string, unknown>): StackConfig {
  const services = (raw.services as { name?: unknown }[] | undefined) ?? [];
  const isObserver = (s: { name?: unknown }) => typeof s.name === "string" && s.name.startsWith(OBSERVER_PREFIX);
  const { config } = parseStackConfig({ ...raw, services: services.filter((s) => !isObserver(s)) });
  const observers = services.filter(isObserver);
  return observers.length ? { ...config, services: [...config.services, ...observers.map((s) => serviceSchema.parse(s))] } : config;
}

function accountNamesOf(raw: Record<string, unknown>): string[] {
  const declared = raw.accounts as { name: string }[] | undefined;
  return declared?.length ? declared.map((a) => a.name) : ["APP"];
}
