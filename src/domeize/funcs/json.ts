// encoding/json's Marshal for template values: map keys sorted, ints exact,
// HTML-sensitive characters escaped unless raw.

import { GoStruct, GoUint8, sortedKeys } from "../../gotemplate/value.js";
import { isNil } from "./convert.js";

/** Go 1.19's string encoding: \b and \f as \u0008 / \u000c (JSON.stringify's short forms came to Go later). */
function str(s: string, html: boolean): string {
  let out = JSON.stringify(s)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")
    .replace(
      /(?<!\\)((?:\\\\)*)\\([bf])/g,
      (_m, pre: string, c: string) => `${pre}\\u000${c === "b" ? "8" : "c"}`,
    );
  if (html) out = out.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
  return out;
}

function num(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-6 || a >= 1e21)) {
    return n.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return String(n);
}

export function marshal(v: unknown, html: boolean, indent = "", level = ""): string {
  if (isNil(v)) return "null";
  switch (typeof v) {
    case "string":
      return str(v, html);
    case "number":
      return num(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (v instanceof GoUint8) return v.value.toString();
  const inner = level + indent;
  const nl = indent === "" ? "" : `\n${inner}`;
  const end = indent === "" ? "" : `\n${level}`;
  const sep = indent === "" ? ":" : ": ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[${nl}${v.map((x) => marshal(x, html, indent, inner)).join(`,${nl}`)}${end}]`;
  }
  let entries: [string, unknown][];
  if (v instanceof GoStruct) {
    entries = Object.entries(v).filter(([k]) => /^[A-Z]/.test(k));
  } else {
    entries = sortedKeys(v as object).map((k) => [k, (v as Record<string, unknown>)[k]]);
  }
  if (entries.length === 0) return "{}";
  return `{${nl}${entries.map(([k, x]) => `${str(k, html)}${sep}${marshal(x, html, indent, inner)}`).join(`,${nl}`)}${end}}`;
}

/** JSON text to template values: numbers are float64 (as Go decodes into interface{}). */
export function unmarshal(text: string): unknown {
  return JSON.parse(text);
}
