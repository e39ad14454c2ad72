// Values written for a person in plans and messages: sizes with units, durations as in the config,
// -1 as "unlimited".

const NANOS_PER_MS = 1_000_000;

export function showCount(n: number | undefined): string {
  return n === undefined || n < 0 ? "unlimited" : String(n);
}

export function showBytes(n: number | undefined): string {
  if (n === undefined || n < 0) return "unlimited";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && value % 1024 === 0 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value}${units[unit]}`;
}

/** Nanoseconds as the shortest duration string that reads back the same ("2m", "1h30m", "500ms"). */
export function showNanos(nanos: number | undefined, zero = "0s"): string {
  if (!nanos) return zero;
  let ms = Math.round(nanos / NANOS_PER_MS);
  const parts: string[] = [];
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size) {
      parts.push(`${Math.floor(ms / size)}${unit}`);
      ms %= size;
    }
  }
  if (ms > 0) parts.push(`${ms}ms`);
  return parts.join("") || `${nanos}ns`;
}

export function showList(values: string[] | undefined): string {
  return values && values.length ? values.join(", ") : "(none)";
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
