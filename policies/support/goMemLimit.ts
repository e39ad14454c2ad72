// GOMEMLIMIT as the Go runtime reads it: an integer with an optional unit B, KiB, MiB, GiB or
// TiB (binary multiples only; checked: "1600MB" and "1.5GiB" are fatal at start), or "off".
const UNITS: Record<string, number> = { "": 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** Bytes, or undefined when the Go runtime would not read the value as a limit. */
export function parseGoMemLimit(value: string): number | undefined {
  const match = /^([0-9]+)(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? ""];
}
