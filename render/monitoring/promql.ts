// PromQL built from data: label values are quoted as PromQL string literals (Go's escapes, which
// JSON's are a subset of) and regex alternatives escaped, so no name from the stack config is
// ever read as PromQL. Every selector names the Surveyor scrape job.
import { SURVEYOR_JOB } from "../../config/monitoring";

/** A PromQL string literal holding `value` exactly. */
export const promString = (value: string): string => JSON.stringify(value);

/** An RE2 pattern matching exactly one of `values`. */
export const exactAlternatives = (values: readonly string[]): string => values.map((value) => value.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&")).join("|");

export type Matchers = Record<string, string | { regex: string }>;

/** `metric{job="nats-surveyor", label="value", other=~"re"}`. */
export function selector(metric: string, matchers: Matchers = {}): string {
  const all: Matchers = { job: SURVEYOR_JOB, ...matchers };
  const parts = Object.entries(all).map(([label, value]) =>
    typeof value === "string" ? `${label}=${promString(value)}` : `${label}=~${promString(value.regex)}`,
  );
  return `${metric}{${parts.join(", ")}}`;
}

/** `max by (labels) (inner)`: one series per object however many servers report it (replicas). */
export const maxBy = (labels: readonly string[], inner: string): string => `max by (${labels.join(", ")}) (${inner})`;

/** A number as PromQL reads it (no exponent surprises for byte counts). */
export const promNumber = (value: number): string => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12))));
