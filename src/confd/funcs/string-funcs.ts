// confd's string and path functions, with Go's strings/path/strconv/base64
// semantics (where JavaScript differs: empty separators, case mapping of
// characters like "ß", strconv error texts).

import { FuncError, type FuncMap, goFunc, typedList } from "../../gotemplate/value.js";
import { base, dir } from "../template/go-path.js";

/** strings.Split: "" separator splits into characters (runes). */
export function goSplit(s: string, sep: string): string[] {
  if (sep === "") return Array.from(s);
  return s.split(sep);
}

/** strings.Replace(s, old, new, n); n < 0 replaces all; empty old inserts between runes. */
export function goReplace(s: string, old: string, repl: string, n: number): string {
  if (n === 0 || old === repl) return s;
  if (old === "") {
    const chars = Array.from(s);
    const out: string[] = [];
    let count = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) {
        out.push(repl);
        count++;
      }
      if (i < chars.length) out.push(chars[i]);
    }
    return out.join("");
  }
  if (n < 0) return s.split(old).join(repl);
  let out = "";
  let rest = s;
  for (let i = 0; i < n; i++) {
    const at = rest.indexOf(old);
    if (at < 0) break;
    out += rest.slice(0, at) + repl;
    rest = rest.slice(at + old.length);
  }
  return out + rest;
}

/** Go's unicode simple case mapping: characters whose JS mapping is not one character stay. */
function mapCase(s: string, upper: boolean): string {
  // ASCII fast path: identical in Go and JS.
  if (/^[\x00-\x7f]*$/.test(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += Array.from(m).length === 1 ? m : ch;
  }
  return out;
}

const syntaxError = (fn: string, s: string) =>
  new FuncError(`strconv.${fn}: parsing ${goQuote(s)}: invalid syntax`);

/** strconv.Quote for error messages (ASCII-safe approximation of Go's quoting). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** strconv.Atoi: optional sign and decimal digits, 64-bit range. */
export function goAtoi(s: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(s)) throw syntaxError("Atoi", s);
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) {
    throw new FuncError(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  }
  return v;
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function goParseBool(s: string): boolean {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw syntaxError("ParseBool", s);
}

/** base64.StdEncoding.DecodeString, with Go's "illegal base64 data at input byte N". */
export function goBase64Decode(s: string): string {
  const alphabet = /[A-Za-z0-9+/]/;
  let i = 0;
  const withoutNewlines = s.replace(/[\r\n]/g, "");
  for (; i < withoutNewlines.length; i++) {
    if (!alphabet.test(withoutNewlines[i])) break;
  }
  const dataLen = i;
  let pad = 0;
  while (i < withoutNewlines.length && withoutNewlines[i] === "=") {
    pad++;
    i++;
  }
  const valid =
    i === withoutNewlines.length &&
    (pad === 0 ? dataLen % 4 === 0 : (dataLen + pad) % 4 === 0 && pad <= 2 && dataLen % 4 >= 2);
  if (!valid) {
    // Go reports the offset of the first offending quantum; this is the common case.
    const at =
      i < withoutNewlines.length ? i : Math.floor(dataLen / 4) * 4 + (pad > 0 ? dataLen % 4 : 0);
    throw new FuncError(`illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(withoutNewlines, "base64").toString("utf8");
}

export function stringFuncs(): FuncMap {
  return {
    base: goFunc(["string"], (p: string) => base(p)),
    dir: goFunc(["string"], (p: string) => dir(p)),
    split: goFunc(["string", "string"], (s: string, sep: string) =>
      typedList("[]string", goSplit(s, sep)),
    ),
    join: goFunc(["[]string", "string"], (items: string[], sep: string) => items.join(sep)),
    toUpper: goFunc(["string"], (s: string) => mapCase(s, true)),
    toLower: goFunc(["string"], (s: string) => mapCase(s, false)),
    contains: goFunc(["string", "string"], (s: string, sub: string) => s.includes(sub)),
    replace: goFunc(["string", "string", "string", "int"], goReplace),
    trimSuffix: goFunc(["string", "string"], (s: string, suf: string) =>
      suf !== "" && s.endsWith(suf) ? s.slice(0, s.length - suf.length) : s,
    ),
    base64Encode: goFunc(["string"], (s: string) => Buffer.from(s, "utf8").toString("base64")),
    base64Decode: goFunc(["string"], goBase64Decode),
    parseBool: goFunc(["string"], goParseBool),
    atoi: goFunc(["string"], goAtoi),
  };
}
