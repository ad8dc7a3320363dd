// text/template's html, js and urlquery builtins: HTMLEscaper, JSEscaper and
// URLQueryEscaper of Go 1.19 (text/template/funcs.go, net/url.QueryEscape).

import { isPrint } from "../golib/isprint.js";
import { sprint } from "./fmt/index.js";

/**
 * Go's evalArgs: a single string operand is used as is; otherwise the
 * operands are printed with fmt.Sprint, a nil operand (JSON null, a missing
 * value) standing for the string "<no value>" as printableValue makes it.
 */
export function evalArgs(args: readonly unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  const printable = args.map((a) => (a === null || a === undefined ? "<no value>" : a));
  return sprint(printable);
}

const HTML_SPECIAL = /["'&<>\0]/;
const HTML_REPLACE = /["'&<>\0]/g;
const HTML_ENTITY: Record<string, string> = {
  '"': "&#34;",
  "'": "&#39;",
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\0": "\ufffd",
};

/** template.HTMLEscapeString. */
export function htmlEscapeString(s: string): string {
  if (!HTML_SPECIAL.test(s)) return s;
  return s.replace(HTML_REPLACE, (c) => HTML_ENTITY[c]);
}

/** The html builtin: HTMLEscaper. */
export function htmlEscaper(args: readonly unknown[]): string {
  return htmlEscapeString(evalArgs(args));
}

function jsIsSpecial(c: number): boolean {
  switch (c) {
    case 0x5c: // \
    case 0x27: // '
    case 0x22: // "
    case 0x3c: // <
    case 0x3e: // >
    case 0x26: // &
    case 0x3d: // =
      return true;
  }
  return c < 0x20 || c >= 0x80;
}

const JS_ASCII: Record<number, string> = {
  92: "\\\\",
  39: "\\'",
  34: '\\"',
  60: "\\u003C",
  62: "\\u003E",
  38: "\\u0026",
  61: "\\u003D",
};

/** template.JSEscapeString. */
export function jsEscapeString(s: string): string {
  let i = 0;
  while (i < s.length && !jsIsSpecial(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  let last = i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!jsIsSpecial(c)) continue;
    out += s.slice(last, i);
    if (c < 0x80) {
      out += JS_ASCII[c] ?? `\\u00${c.toString(16).toUpperCase().padStart(2, "0")}`;
      last = i + 1;
      continue;
    }
    // A non-ASCII rune: kept if printable, else \uXXXX (Go's "\\u%04X").
    const r = s.codePointAt(i) ?? 0xfffd;
    const lone = r >= 0xd800 && r <= 0xdfff;
    const w = r > 0xffff ? 2 : 1;
    if (lone) out += "\ufffd";
    else if (isPrint(r)) out += s.slice(i, i + w);
    else out += `\\u${r.toString(16).toUpperCase().padStart(4, "0")}`;
    i += w - 1;
    last = i + 1;
  }
  return out + s.slice(last);
}

/** The js builtin: JSEscaper. */
export function jsEscaper(args: readonly unknown[]): string {
  return jsEscapeString(evalArgs(args));
}

const encoder = new TextEncoder();
const HEX = "0123456789ABCDEF";

function queryUnreserved(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x7e
  );
}

/** net/url.QueryEscape: space becomes "+", every byte but [A-Za-z0-9-_.~] becomes %XX. */
export function queryEscape(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    if (!queryUnreserved(s.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = encoder.encode(s);
  let out = "";
  for (const b of bytes) {
    if (queryUnreserved(b)) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** The urlquery builtin: URLQueryEscaper. */
export function urlQueryEscaper(args: readonly unknown[]): string {
  return queryEscape(evalArgs(args));
}
