// strconv.Quote, QuoteToASCII, QuoteRune and CanBackquote, ported from Go 1.19.
import { isPrint } from "./isprint.js";
import { runeAt, runeWidth16 } from "./utf8.js";

const lowerhex = "0123456789abcdef";

function hex(r: number, digits: number): string {
  let s = "";
  for (let sh = (digits - 1) * 4; sh >= 0; sh -= 4) s += lowerhex[Math.floor(r / 2 ** sh) & 0xf];
  return s;
}

/** One rune as it appears inside a Go quoted literal (appendEscapedRune). */
export function escapeRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r)) {
    return String.fromCodePoint(r);
  }
  switch (r) {
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
  }
  if (r < 0x20 || r === 0x7f) return `\\x${hex(r, 2)}`;
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return "\\ufffd";
  if (r < 0x10000) return `\\u${hex(r, 4)}`;
  return `\\U${hex(r, 8)}`;
}

/** Escapes of the ASCII control characters and backslash (quotes are handled per quote kind). */
const ASCII_ESCAPE: string[] = Array.from({ length: 128 }, (_, c) =>
  c < 0x20 || c === 0x7f || c === 0x5c ? escapeRune(c, -1, false) : "",
);

function quoteWith(s: string, quote: number, asciiOnly: boolean): string {
  const q = quote === 0x22 ? '"' : "'";
  // Fast scan: most strings need no escape at all.
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === quote || c === 0x5c) break;
  }
  if (i === s.length) return q + s + q;
  let out = "";
  let last = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string;
    if (c < 0x80) {
      if (c === quote) esc = `\\${q}`;
      else {
        esc = ASCII_ESCAPE[c];
        if (esc === "") continue;
      }
      out += s.slice(last, i) + esc;
      last = i + 1;
      continue;
    }
    // Non-ASCII: kept if printable (and not ASCII-only), else escaped.
    const r = runeAt(s, i);
    const w = r > 0xffff ? 2 : 1;
    if (!asciiOnly && isPrint(r) && !(r === 0xfffd && c !== 0xfffd)) {
      i += w - 1;
      continue;
    }
    out += s.slice(last, i) + escapeRune(r, quote, asciiOnly);
    i += w - 1;
    last = i + 1;
  }
  return last === 0 ? q + s + q : q + out + s.slice(last) + q;
}

/** strconv.Quote. */
export function quote(s: string): string {
  return quoteWith(s, 0x22, false);
}

/** strconv.QuoteToASCII. */
export function quoteToASCII(s: string): string {
  return quoteWith(s, 0x22, true);
}

/** strconv.QuoteRune / QuoteRuneToASCII; invalid runes become U+FFFD. */
export function quoteRune(r: number, asciiOnly: boolean): string {
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return `'${escapeRune(r, 0x27, asciiOnly)}'`;
}

/** strconv.CanBackquote: representable unchanged as a single-line raw string. */
export function canBackquote(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if ((c < 0x20 && c !== 0x09) || c === 0x60 || c === 0x7f) return false;
    } else if (c === 0xfeff) {
      return false; // BOMs are invisible and should not be quoted.
    } else if (runeAt(s, i) === 0xfffd && c !== 0xfffd) {
      return false; // a lone surrogate: invalid UTF-8 in Go
    } else {
      i += runeWidth16(s, i) - 1;
    }
  }
  return true;
}

/** The time package's own quote (duration and layout errors): bytes >= 0x80 and controls as \xNN. */
export function timeQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(ch, "utf8")) out += `\\x${hex(byte, 2)}`;
    } else out += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
  }
  return `${out}"`;
}
