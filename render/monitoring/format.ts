// Sizes in alert texts, in the units the stack config is written in (K/M/G/T are powers of 1024,
// config/units.ts): "1GB" reads back as the limit a person declared.
const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1 && Number.isInteger(value / 1024)) {
    value /= 1024;
    unit += 1;
  }
  return `${value}${UNITS[unit]}`;
}
