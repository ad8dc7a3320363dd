// confd's file backend flattening (backends/file/client.go nodeWalk): nested
// maps and lists become slash-separated keys under "/", scalars become
// strings (ints in decimal, bools as true/false, floats without exponent),
// nulls are dropped.

import { join } from "../../golib/path.js";

export function flattenInto(node: unknown, key: string, out: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) flattenInto(node[i], join(key, String(i)), out);
  } else if (node instanceof Map) {
    for (const [k, v] of node) flattenInto(v, join(key, String(k)), out);
  } else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) flattenInto(v, join(key, k), out);
  } else if (typeof node === "string") {
    out.set(key, node);
  } else if (typeof node === "bigint" || typeof node === "boolean") {
    out.set(key, String(node));
  } else if (typeof node === "number") {
    out.set(key, Number.isInteger(node) ? integerText(node) : formatFloat(node));
  }
}

/** Integers that came from YAML floats (1e3) print without exponent. */
function integerText(n: number): string {
  return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
}

/** strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = "", expText] = m;
  const exp = Number(expText);
  const digits = int + frac;
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const point = 1 + exp;
  return point >= digits.length
    ? `${sign}${digits}${"0".repeat(point - digits.length)}`
    : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
