// Serialises data as NATS config values. NATS config reads JSON, but its double-quoted strings
// know only the escapes \" \\ \n \r \t and \xXX (no \uXXXX, \b or \f), so JSON.stringify is not
// enough: every string goes through natsString, which quotes and escapes it so that the server
// reads back exactly the original characters. Nothing user-supplied is ever emitted unquoted.

import { LONE_SURROGATE } from "../config/primitives";

export type NatsValue = string | number | boolean | NatsValue[] | { [key: string]: NatsValue | undefined };

export function natsString(value: string): string {
  // A lone surrogate would be written as U+FFFD: the server would read another string.
  if (LONE_SURROGATE.test(value)) {
    throw new Error(`cannot render ${JSON.stringify(value)} in NATS config: it holds broken Unicode (a lone UTF-16 surrogate)`);
  }
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
  return `{\n${entries.map(([k, v]) => `${inner}${natsKey(k)}: ${natsValue(v, inner)}`).join(",\n")}\n${indent}}`;
}

/**
 * A map key in double quotes. The server reads a quoted key up to the next '"' with no escapes
 * at all (conf/lex.go, lexMapDubQuotedKey), so a key that would need one cannot be written and
 * is refused rather than read back as something else.
 */
export function natsKey(key: string): string {
  if (/["\u0000-\u001f\u007f]/.test(key)) throw new Error(`cannot render the key ${JSON.stringify(key)} in NATS config: keys cannot hold '"' or control characters`);
  return `"${key}"`;
}

/** Top-level `key: value` lines, the form a NATS config file accepts alongside `include`. */
export function natsTopLevel(entries: Record<string, NatsValue | undefined>): string {
  return Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${bareKey(k)}: ${natsValue(v as NatsValue)}`)
    .join("\n");
}

/** Top-level keys are our own setting names, written bare as in the server's documentation. */
function bareKey(key: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(key)) throw new Error(`cannot render ${JSON.stringify(key)} as a top-level NATS config key`);
  return key;
}
