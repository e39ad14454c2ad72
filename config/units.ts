// Human sizes and durations, parsed once here. Sizes are rendered as plain byte counts, so what
// a person writes means exactly what this file says. Note that K/M/G/T are powers of 1024 here,
// as in Docker's memory limits, while nats-server itself reads a bare `1G` as 10^9 and only
// `1GB` as 2^30 (checked in nats-server's conf/parse.go): never pass these strings through.
// Durations keep Go's syntax, which the server reads too.

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KB: 1024,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
};

/** Bytes for "1MB", "50GB", "2G", "512KiB" or a plain byte count; undefined when unreadable. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const factor = SIZE_UNITS[match[2].toUpperCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds for a Go-style duration such as "20s", "1m30s" or "500ms"; undefined when unreadable. */
export function parseDuration(value: string): number | undefined {
  if (!/^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(value)) return undefined;
  let total = 0;
  for (const part of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS_MS[part[2]];
  }
  return total;
}

export const SIZE_HELP = 'a byte count or a size such as "512KB", "1MB", "50GB" (K/M/G/T are powers of 1024)';
export const DURATION_HELP = 'a duration such as "500ms", "20s", "2m" or "1h30m"';
