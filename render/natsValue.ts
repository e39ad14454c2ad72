// Serialises data as NATS config values. NATS config reads JSON, but its double-quoted strings
// know only the escapes \" \\ \n \r \t and \xXX (no \uXXXX, \b or \f), so JSON.stringify is not
// enough: every string goes through natsString, which quotes and escapes it so that the server
// reads back exactly the original characters. Nothing user-supplied is ever emitted unquoted.

export type NatsValue = string | number | boolean | NatsValue[] | { [key: string]: NatsValue | undefined };

export function natsString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === "\\") out += "\\\\";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += char;
  }
  return out + '"';
}

/** Pretty-printed (two-space indent) so that a diff of two renders shows only what changed. */
export function natsValue(value: NatsValue, indent = ""): string {
  if (typeof value === "string") return natsString(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot render the number ${value} in NATS config`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + natsValue(item, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined) as [string, NatsValue][];
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${natsString(k)}: ${natsValue(v, inner)}`).join(",\n")}\n${indent}}`;
}

/** Top-level `key: value` lines, the form a NATS config file accepts alongside `include`. */
export function natsTopLevel(entries: Record<string, NatsValue | undefined>): string {
  return Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${natsValue(v as NatsValue)}`)
    .join("\n");
}
