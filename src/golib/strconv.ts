// Go's strconv parsing (Go 1.19): Unquote, UnquoteChar, the base-0 integer
// and float syntaxes of ParseInt/ParseUint/ParseFloat (template literals),
// Atoi and ParseBool with Go's error texts. Quoting is in quote.ts.

import { quote } from "./quote.js";

/** strconv.ErrSyntax from Unquote/UnquoteChar. */
export class SyntaxError_ extends Error {
  constructor() {
    super("invalid syntax");
  }
}

/** strconv.NumError: `strconv.Atoi: parsing "x": invalid syntax`. */
export class NumError extends Error {
  override name = "NumError";
  constructor(
    readonly func: string,
    readonly num: string,
    readonly reason: "invalid syntax" | "value out of range",
  ) {
    super(`strconv.${func}: parsing ${quote(num)}: ${reason}`);
  }
}

function unhex(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * strconv.UnquoteChar: decodes the first character or escape of s.
 * Returns [code point, tail] or throws SyntaxError_.
 */
export function unquoteChar(s: string, q: string): [number, string] {
  const c = s.codePointAt(0);
  if (c === undefined) throw new SyntaxError_();
  const ch = String.fromCodePoint(c);
  if (ch === q && (q === "'" || q === '"')) throw new SyntaxError_();
  if (ch !== "\\") return [c, s.slice(ch.length)];
  if (s.length <= 1) throw new SyntaxError_();
  const e = s[1] as string;
  let rest = s.slice(2);
  switch (e) {
    case "a":
      return [7, rest];
    case "b":
      return [8, rest];
    case "f":
      return [12, rest];
    case "n":
      return [10, rest];
    case "r":
      return [13, rest];
    case "t":
      return [9, rest];
    case "v":
      return [11, rest];
    case "x":
    case "u":
    case "U": {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      if (rest.length < n) throw new SyntaxError_();
      let v = 0;
      for (let j = 0; j < n; j++) {
        const x = unhex(rest[j] as string);
        if (x < 0) throw new SyntaxError_();
        v = v * 16 + x;
      }
      rest = rest.slice(n);
      if (e === "x") return [v, rest]; // a single byte; callers of the template engine see it as a rune
      if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new SyntaxError_();
      return [v, rest];
    }
    case "0":
    case "1":
    case "2":
    case "3":
    case "4":
    case "5":
    case "6":
    case "7": {
      let v = e.charCodeAt(0) - 48;
      if (rest.length < 2) throw new SyntaxError_();
      for (let j = 0; j < 2; j++) {
        const x = rest.charCodeAt(j) - 48;
        if (x < 0 || x > 7) throw new SyntaxError_();
        v = v * 8 + x;
      }
      if (v > 255) throw new SyntaxError_();
      return [v, rest.slice(2)];
    }
    case "\\":
      return [0x5c, rest];
    case "'":
    case '"':
      if (e !== q) throw new SyntaxError_();
      return [e.charCodeAt(0), rest];
    default:
      throw new SyntaxError_();
  }
}

/** strconv.Unquote for "..." and `...` literals (the lexer never gives anything else). */
export function unquote(s: string): string {
  const n = s.length;
  if (n < 2) throw new SyntaxError_();
  const q = s[0];
  if (q !== s[n - 1]) throw new SyntaxError_();
  let body = s.slice(1, n - 1);
  if (q === "`") {
    if (body.includes("`")) throw new SyntaxError_();
    return body.includes("\r") ? body.replaceAll("\r", "") : body;
  }
  if (q !== '"' && q !== "'") throw new SyntaxError_();
  if (body.includes("\n")) throw new SyntaxError_();
  if (!body.includes("\\") && !body.includes(q)) {
    if (q === '"') return body;
  }
  let out = "";
  const bytes: number[] = [];
  const flushBytes = () => {
    if (bytes.length) {
      out += Buffer.from(bytes).toString("utf8");
      bytes.length = 0;
    }
  };
  while (body.length > 0) {
    const isX =
      body[0] === "\\" &&
      (body[1] === "x" || ((body[1] as string) >= "0" && (body[1] as string) <= "7"));
    const [r, tail] = unquoteChar(body, q);
    body = tail;
    if (isX) {
      bytes.push(r);
      continue;
    }
    flushBytes();
    out += String.fromCodePoint(r);
    if (q === "'" && body.length > 0) throw new SyntaxError_();
  }
  flushBytes();
  return out;
}

function lower(c: string): string {
  return c.toLowerCase();
}

/** strconv's underscoreOK: underscores only between digits (or after a base prefix). */
function underscoreOK(s0: string): boolean {
  let s = s0;
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let isHex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(lower(s[1] as string))) {
    i = 2;
    saw = "0";
    isHex = lower(s[1] as string) === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= "0" && c <= "9") || (isHex && lower(c) >= "a" && lower(c) <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const MAX_U64 = (1n << 64n) - 1n;

/** strconv.ParseUint(s, 0, 64); null on any error. */
export function parseUint0(s0: string): bigint | null {
  if (s0 === "") return null;
  let s = s0;
  let base = 10n;
  if (s[0] === "0") {
    const p = s.length >= 3 ? lower(s[1] as string) : "";
    const prefixed = p === "b" || p === "o" || p === "x";
    base = p === "b" ? 2n : p === "x" ? 16n : 8n;
    s = s.slice(prefixed ? 2 : 1);
  }
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    let d: number;
    const code = c.charCodeAt(0);
    if (c === "_") {
      underscores = true;
      continue;
    }
    if (code >= 48 && code <= 57) d = code - 48;
    else if (lower(c) >= "a" && lower(c) <= "z" && c.length === 1) d = lower(c).charCodeAt(0) - 87;
    else return null;
    if (BigInt(d) >= base) return null;
    n = n * base + BigInt(d);
    if (n > MAX_U64) return null;
  }
  if (underscores && !underscoreOK(s0)) return null;
  return n;
}

/** strconv.ParseInt(s, 0, 64); null on any error. */
export function parseInt0(s: string): bigint | null {
  if (s === "") return null;
  let neg = false;
  let body = s;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    body = s.slice(1);
  }
  const u = parseUint0(body);
  if (u === null) return null;
  if (!neg && u >= 1n << 63n) return null;
  if (neg && u > 1n << 63n) return null;
  return neg ? -u : u;
}

/** strconv.ParseFloat(s, 64); null on a syntax or range error. */
export function parseFloat64(s: string): number | null {
  let i = 0;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") {
    neg = s[i] === "-";
    i++;
  }
  let isHex = false;
  if (i + 2 < s.length && s[i] === "0" && lower(s[i + 1] as string) === "x") {
    isHex = true;
    i += 2;
  }
  const mantStart = i;
  let sawdot = false;
  let sawdigits = false;
  let underscores = false;
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "_") {
      underscores = true;
      continue;
    }
    if (c === ".") {
      if (sawdot) break;
      sawdot = true;
      continue;
    }
    if ((c >= "0" && c <= "9") || (isHex && lower(c) >= "a" && lower(c) <= "f")) {
      sawdigits = true;
      continue;
    }
    break;
  }
  if (!sawdigits) return null;
  const mant = s.slice(mantStart, i).replaceAll("_", "");
  let exp = 0;
  const expChar = isHex ? "p" : "e";
  if (i < s.length && lower(s[i] as string) === expChar) {
    i++;
    if (i >= s.length) return null;
    let esign = 1;
    if (s[i] === "+" || s[i] === "-") {
      esign = s[i] === "-" ? -1 : 1;
      i++;
    }
    if (i >= s.length || (s[i] as string) < "0" || (s[i] as string) > "9") return null;
    let e = 0;
    for (
      ;
      i < s.length && (((s[i] as string) >= "0" && (s[i] as string) <= "9") || s[i] === "_");
      i++
    ) {
      if (s[i] === "_") {
        underscores = true;
        continue;
      }
      if (e < 10000) e = e * 10 + (s.charCodeAt(i) - 48);
    }
    exp = e * esign;
  } else if (isHex) {
    return null;
  }
  if (i !== s.length) return null;
  if (underscores && !underscoreOK(s.slice(0, i))) return null;
  let v: number;
  if (isHex) {
    const dot = mant.indexOf(".");
    const digits = mant.replace(".", "");
    const fracDigits = dot < 0 ? 0 : mant.length - dot - 1;
    const m = BigInt(`0x${digits}`);
    v = Number(m) * 2 ** (exp - 4 * fracDigits);
    if (!Number.isFinite(v) && m !== 0n) {
      // Very large mantissa with a negative exponent: scale in two steps.
      v = Number(m >> 64n) * 2 ** (exp - 4 * fracDigits + 64);
    }
  } else {
    v = Number(`${mant}e${exp}`);
  }
  if (!Number.isFinite(v)) return null;
  return neg ? -v : v;
}

const MAX_I64 = (1n << 63n) - 1n;
const MIN_I64 = -(1n << 63n);

/** strconv.Atoi on a 64-bit platform: optional sign, decimal digits (no underscores). */
export function atoi(s: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new NumError("Atoi", s, "invalid syntax");
  const v = BigInt(s);
  if (v > MAX_I64 || v < MIN_I64) throw new NumError("Atoi", s, "value out of range");
  return v;
}

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool. */
export function parseBool(s: string): boolean {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new NumError("ParseBool", s, "invalid syntax");
}
