// Go's fmt/format.go of Go 1.19: the raw formatter. Flags, width and
// precision, padding (widths count runes), integers in every base, strings,
// %x of bytes, %q, %c, %U and floats. Printer (print.ts) builds on it.

import { isPrint } from "../../golib/isprint.js";
import { canBackquote, quote, quoteRune, quoteToASCII } from "../../golib/quote.js";
import { isAscii, runeCount, runeToString, truncateRunes, utf8Bytes } from "../../golib/utf8.js";
import { formatFloat } from "./float.js";

export const LDIGITS = "0123456789abcdefx";
export const UDIGITS = "0123456789ABCDEFX";
const MAX_RUNE = 0x10ffffn;

const PAD_CACHE = 64;
export const SPACES = Array.from({ length: PAD_CACHE }, (_, n) => " ".repeat(n));
const ZEROS = Array.from({ length: PAD_CACHE }, (_, n) => "0".repeat(n));
const SAFE = 9007199254740991n;

/** Digits of |v| in a base; small values go through Number (faster than BigInt#toString). */
function digitsOf(u: bigint, base: number): string {
  return u <= SAFE ? Number(u).toString(base) : u.toString(base);
}

export class Formatter {
  buf = "";
  // fmtFlags
  widPresent = false;
  precPresent = false;
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  prec = 0;

  clearflags(): void {
    this.widPresent = false;
    this.precPresent = false;
    this.minus = false;
    this.plus = false;
    this.sharp = false;
    this.space = false;
    this.zero = false;
    this.plusV = false;
    this.sharpV = false;
    this.wid = 0;
    this.prec = 0;
  }

  writePadding(n: number): void {
    if (n <= 0) return;
    if (n < PAD_CACHE) this.buf += this.zero ? ZEROS[n] : SPACES[n];
    else this.buf += (this.zero ? "0" : " ").repeat(n);
  }

  /** Append s padded to the width (left unless minus); width counts runes. */
  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  fmtBoolean(v: boolean): void {
    this.pad(v ? "true" : "false");
  }

  /** %U: "U+0078", with sharp "U+0078 'x'". */
  fmtUnicode(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    let prec = 4;
    if (this.precPresent && this.prec > 4) prec = this.prec;
    let s = u.toString(16).toUpperCase();
    if (s.length < prec) s = "0".repeat(prec - s.length) + s;
    s = `U+${s}`;
    if (this.sharp && u <= MAX_RUNE && isPrint(Number(u)))
      s += ` '${String.fromCodePoint(Number(u))}'`;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  /** Integers in base 2, 8, 10 or 16 with sign, precision, zero padding and prefixes. */
  fmtInteger(v: bigint, base: number, isSigned: boolean, verb: string, digits: string): void {
    if (!isSigned && v < 0n) v = BigInt.asUintN(64, v);
    if (
      !this.widPresent &&
      !this.precPresent &&
      !this.sharp &&
      !this.plus &&
      !this.space &&
      v >= 0n
    ) {
      // Common case: plain digits.
      const s = digitsOf(v, base);
      this.buf += verb === "O" ? `0o${s}` : digits === UDIGITS ? s.toUpperCase() : s;
      return;
    }
    const negative = isSigned && v < 0n;
    const u = negative ? -v : v;
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      // Precision 0 and value 0 means "print nothing" but padding.
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--; // leave room for sign
    }
    let s = digitsOf(u, base);
    if (digits === UDIGITS && base === 16) s = s.toUpperCase();
    if (prec > s.length) s = "0".repeat(prec - s.length) + s;
    if (this.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8) {
        if (s[0] !== "0") s = `0${s}`;
      } else if (base === 16) s = `0${digits[16]}${s}`;
    }
    if (verb === "O") s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.plus) s = `+${s}`;
    else if (this.space) s = ` ${s}`;
    // Zero padding was handled like a precision above (or is ignored).
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  fmtS(s: string): void {
    if (this.precPresent) s = truncateRunes(s, this.prec);
    this.pad(s);
  }

  /** %x / %X of a string or byte slice: hex of each byte. */
  fmtSbx(b: Uint8Array, digits: string): void {
    let length = b.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) {
        width += 2;
      }
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    let out = "";
    if (this.sharp) out += `0${digits[16]}`;
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += " ";
        if (this.sharp) out += `0${digits[16]}`;
      }
      const c = b[i];
      out += digits[c >> 4] + digits[c & 0xf];
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  fmtSx(s: string, digits: string): void {
    if (isAscii(s)) {
      const b = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
      this.fmtSbx(b, digits);
    } else {
      this.fmtSbx(utf8Bytes(s), digits);
    }
  }

  /** %q of a string: Go double-quoted literal, %+q ASCII only, %#q backquoted if possible. */
  fmtQ(s: string): void {
    if (this.precPresent) s = truncateRunes(s, this.prec);
    if (this.sharp && canBackquote(s)) {
      this.pad(`\`${s}\``);
      return;
    }
    this.pad(this.plus ? quoteToASCII(s) : quote(s));
  }

  /** %c: the integer as a character; invalid code points print U+FFFD. */
  fmtC(c: bigint): void {
    const u = BigInt.asUintN(64, c);
    this.pad(runeToString(u > MAX_RUNE ? 0xfffd : Number(u)));
  }

  /** %q of an integer: a single-quoted Go character literal. */
  fmtQc(c: bigint): void {
    const u = BigInt.asUintN(64, c);
    this.pad(quoteRune(u > MAX_RUNE ? 0xfffd : Number(u), this.plus));
  }

  fmtFloat(v: number, verb: string, prec: number): void {
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, verb, prec);
    if (num[0] !== "-" && num[0] !== "+") num = `+${num}`;
    // space means a leading space instead of "+" unless plus asks for the sign.
    if (this.space && num[0] === "+" && !this.plus) num = ` ${num.slice(1)}`;
    // Infinities and NaN don't look like numbers: never pad them with zeros.
    if (num[1] === "I" || num[1] === "N") {
      const oldZero = this.zero;
      this.zero = false;
      if (num[1] === "N" && !this.space && !this.plus) num = num.slice(1);
      this.pad(num);
      this.zero = oldZero;
      return;
    }
    // The sharp flag forces a decimal point and keeps trailing zeros.
    if (this.sharp && verb !== "b") num = this.sharpFloat(num, verb, prec);
    if (this.plus || num[0] !== "+") {
      // Zero padding goes between the sign and the digits.
      if (this.zero && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  private sharpFloat(num: string, verb: string, prec: number): string {
    let digits = 0;
    if (verb === "v" || verb === "g" || verb === "G" || verb === "x") {
      digits = prec;
      if (digits === -1) digits = 6;
    }
    let tail = "";
    let hasDecimalPoint = false;
    let sawNonzeroDigit = false;
    for (let i = 1; i < num.length; i++) {
      const c = num[i];
      if (c === ".") {
        hasDecimalPoint = true;
        continue;
      }
      if (c === "p" || c === "P" || ((c === "e" || c === "E") && verb !== "x" && verb !== "X")) {
        tail = num.slice(i);
        num = num.slice(0, i);
        break;
      }
      if (c !== "0") sawNonzeroDigit = true;
      if (sawNonzeroDigit) digits--;
    }
    if (!hasDecimalPoint) {
      if (num.length === 2 && num[1] === "0") digits--;
      num += ".";
    }
    if (digits > 0) num += "0".repeat(digits);
    return num + tail;
  }
}
