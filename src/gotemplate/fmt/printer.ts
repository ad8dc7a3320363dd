// Go's fmt printer (fmt/print.go and fmt/format.go of Go 1.19), ported to the
// template value model of ../value.ts. The structure follows Go's closely
// (pp = argument dispatch and verbs, fmt = padding and number formatting) so
// that flags, widths and the %!verb(TYPE=value) error forms behave the same.
import { GoComplex, GoStruct, sortedKeys } from "../value.js";
import { formatFloat, formatFloatV } from "./float.js";
import { isPrint } from "./isprint.js";
import { canBackquote, quote, quoteRune, quoteToASCII } from "./quote.js";
import { goTypeName, isInterfaceType, mapElemType, sliceElemType } from "./types.js";
import { isAscii, runeCount, runeToString, truncateRunes, utf8Bytes } from "./utf8.js";

const LDIGITS = "0123456789abcdefx";
const UDIGITS = "0123456789ABCDEFX";
const MAX_RUNE = 0x10ffffn;
const U64 = (1n << 64n) - 1n;

const PAD_CACHE = 64;
const SPACES = Array.from({ length: PAD_CACHE }, (_, n) => " ".repeat(n));
const ZEROS = Array.from({ length: PAD_CACHE }, (_, n) => "0".repeat(n));
const SAFE = 9007199254740991n;

/** Digits of |v| in a base; small values go through Number (faster than BigInt#toString). */
function digitsOf(u: bigint, base: number): string {
  return u <= SAFE ? Number(u).toString(base) : u.toString(base);
}

/** Fake but stable "addresses" for functions and containers (%p, %v of a func). */
const addresses = new WeakMap<object, bigint>();
let nextAddress = 0xc000010000n;
function addressOf(v: object): bigint {
  let a = addresses.get(v);
  if (a === undefined) {
    a = nextAddress;
    nextAddress += 0x30n;
    addresses.set(v, a);
  }
  return a;
}

function isExportedName(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c >= 65 && c <= 90) return true;
  if (c < 128) return false;
  const ch = String.fromCodePoint(k.codePointAt(0) ?? 0);
  return ch.toUpperCase() === ch && ch.toLowerCase() !== ch;
}

/** Exported fields of a host struct: own enumerable upper-case properties, in order. */
export function structFields(v: GoStruct): string[] {
  return Object.keys(v).filter(isExportedName);
}

function isByteType(t: string): boolean {
  return t === "uint8" || t === "byte";
}

function isUnsignedType(t: string): boolean {
  return t.startsWith("uint") || t === "byte" || t === "uintptr";
}

/** Go's tooLarge: widths and precisions are bounded by 1e6. */
function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

type Method = () => unknown;

export class Printer {
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
  // pp state
  erroring = false;
  panicking = false;
  reordered = false;
  goodArgNum = true;

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

  // ---------------------------------------------------------------- format.go

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

  // ----------------------------------------------------------------- print.go

  /** %!verb(TYPE=value), or %!verb(<nil>). */
  badVerb(verb: string, v: unknown, present: boolean): void {
    this.erroring = true;
    this.buf += `%!${verb}(`;
    if (present && v !== null && v !== undefined) {
      this.buf += `${goTypeName(v)}=`;
      this.printArg(v, "v");
    } else {
      this.buf += "<nil>";
    }
    this.buf += ")";
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string): void {
    if (verb === "t" || verb === "v") this.fmtBoolean(v);
    else this.badVerb(verb, v, true);
  }

  fmt0x64(v: bigint, leading0x: boolean): void {
    const sharp = this.sharp;
    this.sharp = leading0x;
    this.fmtInteger(v, 16, false, "v", LDIGITS);
    this.sharp = sharp;
  }

  fmtIntegerVerb(v: bigint, isSigned: boolean, verb: string): void {
    switch (verb) {
      case "v":
        if (this.sharpV && !isSigned) this.fmt0x64(v, true);
        else this.fmtInteger(v, 10, isSigned, verb, LDIGITS);
        return;
      case "d":
        this.fmtInteger(v, 10, isSigned, verb, LDIGITS);
        return;
      case "b":
        this.fmtInteger(v, 2, isSigned, verb, LDIGITS);
        return;
      case "o":
      case "O":
        this.fmtInteger(v, 8, isSigned, verb, LDIGITS);
        return;
      case "x":
        this.fmtInteger(v, 16, isSigned, verb, LDIGITS);
        return;
      case "X":
        this.fmtInteger(v, 16, isSigned, verb, UDIGITS);
        return;
      case "c":
        this.fmtC(v);
        return;
      case "q":
        this.fmtQc(v);
        return;
      case "U":
        this.fmtUnicode(v);
        return;
    }
    this.badVerb(verb, v, true);
  }

  fmtFloatVerb(v: number, verb: string): void {
    switch (verb) {
      case "v":
        if (!this.precPresent && !this.plus && !this.space && !this.zero && !this.sharp) {
          this.pad(formatFloatV(v)); // the common {{printf "%v" .x}}: no sign or digit flags
        } else {
          this.fmtFloat(v, "g", -1);
        }
        return;
      case "b":
      case "g":
      case "G":
      case "x":
      case "X":
        this.fmtFloat(v, verb, -1);
        return;
      case "f":
      case "e":
      case "E":
        this.fmtFloat(v, verb, 6);
        return;
      case "F":
        this.fmtFloat(v, "f", 6);
        return;
    }
    this.badVerb(verb, v, true);
  }

  /** A complex128 as (r+ji); the imaginary part always has a sign. */
  fmtComplex(v: GoComplex, verb: string): void {
    switch (verb) {
      case "v":
      case "b":
      case "g":
      case "G":
      case "x":
      case "X":
      case "f":
      case "F":
      case "e":
      case "E": {
        const oldPlus = this.plus;
        this.buf += "(";
        this.fmtFloatVerb(v.re, verb);
        this.plus = true;
        this.fmtFloatVerb(v.im, verb);
        this.buf += "i)";
        this.plus = oldPlus;
        return;
      }
    }
    this.badVerb(verb, v, true);
  }

  fmtString(v: string, verb: string): void {
    switch (verb) {
      case "v":
        if (this.sharpV) this.fmtQ(v);
        else this.fmtS(v);
        return;
      case "s":
        this.fmtS(v);
        return;
      case "x":
        this.fmtSx(v, LDIGITS);
        return;
      case "X":
        this.fmtSx(v, UDIGITS);
        return;
      case "q":
        this.fmtQ(v);
        return;
    }
    this.badVerb(verb, v, true);
  }

  /** %s %q %x %X of a byte slice (a list typed "[]uint8" / "[]byte"). */
  fmtBytes(v: unknown[], verb: string): void {
    const b = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) b[i] = Number(v[i]) & 0xff;
    switch (verb) {
      case "s":
        this.fmtS(new TextDecoder().decode(b));
        return;
      case "x":
        this.fmtSbx(b, LDIGITS);
        return;
      case "X":
        this.fmtSbx(b, UDIGITS);
        return;
      case "q":
        this.fmtQ(new TextDecoder().decode(b));
        return;
    }
  }

  fmtPointer(v: object, typeName: string, verb: string): void {
    const u = addressOf(v);
    switch (verb) {
      case "v":
        if (this.sharpV) {
          this.buf += `(${typeName})(`;
          this.fmt0x64(u, true);
          this.buf += ")";
        } else {
          this.fmt0x64(u, !this.sharp);
        }
        return;
      case "p":
        this.fmt0x64(u, !this.sharp);
        return;
      case "b":
      case "o":
      case "d":
      case "x":
      case "X":
        this.fmtIntegerVerb(u, false, verb);
        return;
    }
    this.badVerb(verb, v, true);
  }

  /** Stringer / error / GoStringer methods of host structs (handleMethods). */
  handleMethods(arg: unknown, verb: string): boolean {
    if (this.erroring || !(arg instanceof GoStruct)) return false;
    const obj = arg as unknown as Record<string, unknown>;
    let name: string | undefined;
    if (this.sharpV) {
      if (typeof obj.GoString === "function") name = "GoString";
    } else if (verb === "v" || verb === "s" || verb === "x" || verb === "X" || verb === "q") {
      if (typeof obj.Error === "function") name = "Error";
      else if (typeof obj.String === "function") name = "String";
    }
    if (name === undefined) return false;
    let s: unknown;
    try {
      s = (obj[name] as Method).call(arg);
    } catch (err) {
      this.catchPanic(err, verb, name);
      return true;
    }
    const str = String(s);
    if (name === "GoString") this.fmtS(str);
    else this.fmtString(str, verb);
    return true;
  }

  private catchPanic(err: unknown, verb: string, method: string): void {
    if (this.panicking) throw err;
    const saved = this.saveFlags();
    this.clearflags();
    this.buf += `%!${verb}(PANIC=${method} method: `;
    this.panicking = true;
    this.printArg(err instanceof Error ? err.message : err, "v");
    this.panicking = false;
    this.buf += ")";
    this.restoreFlags(saved);
  }

  private saveFlags(): unknown[] {
    return [
      this.widPresent,
      this.precPresent,
      this.minus,
      this.plus,
      this.sharp,
      this.space,
      this.zero,
      this.plusV,
      this.sharpV,
      this.wid,
      this.prec,
    ];
  }

  private restoreFlags(f: unknown[]): void {
    [
      this.widPresent,
      this.precPresent,
      this.minus,
      this.plus,
      this.sharp,
      this.space,
      this.zero,
      this.plusV,
      this.sharpV,
      this.wid,
      this.prec,
    ] = f as [
      boolean,
      boolean,
      boolean,
      boolean,
      boolean,
      boolean,
      boolean,
      boolean,
      boolean,
      number,
      number,
    ];
  }

  /** One top-level operand (printArg). */
  printArg(arg: unknown, verb: string): void {
    if (arg === null || arg === undefined) {
      if (verb === "T" || verb === "v") this.pad("<nil>");
      else this.badVerb(verb, arg, false);
      return;
    }
    if (verb === "T") {
      this.fmtS(goTypeName(arg));
      return;
    }
    if (verb === "p") {
      if (typeof arg === "object" || typeof arg === "function")
        this.fmtPointer(arg, goTypeName(arg), "p");
      else this.badVerb(verb, arg, true);
      return;
    }
    switch (typeof arg) {
      case "string":
        this.fmtString(arg, verb);
        return;
      case "number":
        this.fmtFloatVerb(arg, verb);
        return;
      case "bigint":
        this.fmtIntegerVerb(arg, true, verb);
        return;
      case "boolean":
        this.fmtBool(arg, verb);
        return;
    }
    if (!this.handleMethods(arg, verb)) this.printValue(arg, verb, 0, goTypeName(arg));
  }

  /**
   * A value inside (or at the top of) a container. `type` is its static Go
   * type: for an interface element a nil prints as <nil> (interface {}(nil) in %#v).
   */
  printValue(v: unknown, verb: string, depth: number, type: string): void {
    if (depth > 0 && this.handleMethods(v, verb)) return;
    switch (typeof v) {
      case "string":
        this.fmtString(v, verb);
        return;
      case "number":
        this.fmtFloatVerb(v, verb);
        return;
      case "bigint":
        this.fmtIntegerVerb(v, !isUnsignedType(type), verb);
        return;
      case "boolean":
        this.fmtBool(v, verb);
        return;
      case "function":
        this.fmtPointer(v, goTypeName(v), verb);
        return;
      case "undefined":
        this.printNil(type);
        return;
    }
    if (v === null) {
      this.printNil(type);
      return;
    }
    if (v instanceof GoStruct) {
      this.printStruct(v, verb, depth);
      return;
    }
    if (v instanceof GoComplex) {
      this.fmtComplex(v, verb);
      return;
    }
    const t = goTypeName(v);
    if (Array.isArray(v)) this.printList(v, t, verb, depth);
    else this.printMap(v as Record<string, unknown>, t, verb, depth);
  }

  private printNil(type: string): void {
    if (this.sharpV) this.buf += isInterfaceType(type) ? `${type}(nil)` : "<nil>";
    else this.buf += "<nil>";
  }

  private printList(v: unknown[], t: string, verb: string, depth: number): void {
    const elem = sliceElemType(t);
    if ((verb === "s" || verb === "q" || verb === "x" || verb === "X") && isByteType(elem)) {
      this.fmtBytes(v, verb);
      return;
    }
    if (this.sharpV) {
      this.buf += `${t}{`;
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.buf += ", ";
        this.printValue(v[i], verb, depth + 1, elem);
      }
      this.buf += "}";
      return;
    }
    this.buf += "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) this.buf += " ";
      this.printValue(v[i], verb, depth + 1, elem);
    }
    this.buf += "]";
  }

  private printMap(v: Record<string, unknown>, t: string, verb: string, depth: number): void {
    const elem = mapElemType(t);
    this.buf += this.sharpV ? `${t}{` : "map[";
    const keys = sortedKeys(v);
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) this.buf += this.sharpV ? ", " : " ";
      this.printValue(keys[i], verb, depth + 1, "string");
      this.buf += ":";
      this.printValue(v[keys[i]], verb, depth + 1, elem);
    }
    this.buf += this.sharpV ? "}" : "]";
  }

  private printStruct(v: GoStruct, verb: string, depth: number): void {
    if (this.sharpV) this.buf += v.goType;
    this.buf += "{";
    const fields = structFields(v);
    const rec = v as unknown as Record<string, unknown>;
    for (let i = 0; i < fields.length; i++) {
      if (i > 0) this.buf += this.sharpV ? ", " : " ";
      if (this.plusV || this.sharpV) this.buf += `${fields[i]}:`;
      this.printValue(rec[fields[i]], verb, depth + 1, "interface {}");
    }
    this.buf += "}";
  }

  // ------------------------------------------------------------- Printf & co

  doPrint(a: readonly unknown[]): void {
    let prevString = false;
    for (let i = 0; i < a.length; i++) {
      const arg = a[i];
      const isString = typeof arg === "string";
      if (i > 0 && !isString && !prevString) this.buf += " ";
      this.printArg(arg, "v");
      prevString = isString;
    }
  }

  doPrintln(a: readonly unknown[]): void {
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.buf += " ";
      this.printArg(a[i], "v");
    }
    this.buf += "\n";
  }

  /** Go's intFromArg: a width or precision from an int operand. */
  private intFromArg(a: readonly unknown[], argNum: number): [number, boolean, number] {
    let num = 0;
    let isInt = false;
    let newArgNum = argNum;
    if (argNum < a.length) {
      const v = a[argNum];
      if (typeof v === "bigint") {
        isInt = true;
        num = v > 10000000n || v < -10000000n ? 1e7 : Number(v);
      }
      newArgNum = argNum + 1;
      if (tooLarge(num)) {
        num = 0;
        isInt = false;
      }
    }
    return [num, isInt, newArgNum];
  }

  /** Result of parsenum: the number and whether digits were present. */
  private num = 0;
  private isnum = false;

  /** Go's parsenum on format[start:end]: sets num/isnum, returns the new index. */
  private parsenum(s: string, start: number, end: number): number {
    let num = 0;
    let isnum = false;
    let i = start;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      if (num > 1e6) {
        // Overflow (tooLarge): a crazy long number swallows the rest of the format.
        this.num = 0;
        this.isnum = false;
        return end;
      }
      num = num * 10 + (c - 0x30);
      isnum = true;
    }
    this.num = num;
    this.isnum = isnum;
    return i;
  }

  /** Go's argNumber: an explicit [n] index at format[i]. */
  private argNumber(
    argNum: number,
    format: string,
    i: number,
    numArgs: number,
  ): [number, number, boolean] {
    if (format.length <= i || format.charCodeAt(i) !== 0x5b) return [argNum, i, false];
    this.reordered = true;
    const [index, wid, ok] = parseArgNumber(format, i);
    if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
    this.goodArgNum = false;
    return [argNum, i + wid, ok];
  }

  doPrintf(format: string, a: readonly unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    this.reordered = false;
    formatLoop: for (let i = 0; i < end; ) {
      this.goodArgNum = true;
      const lasti = i;
      while (i < end && format.charCodeAt(i) !== 0x25) i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++; // skip %
      this.clearflags();
      simpleFormat: for (; i < end; i++) {
        const c = format.charCodeAt(i);
        switch (c) {
          case 0x23: // #
            this.sharp = true;
            break;
          case 0x30: // 0: only pad with zeros to the left
            this.zero = !this.minus;
            break;
          case 0x2b: // +
            this.plus = true;
            break;
          case 0x2d: // -
            this.minus = true;
            this.zero = false;
            break;
          case 0x20:
            this.space = true;
            break;
          default:
            // Fast path: a lower-case verb without width, precision or index.
            if (c >= 0x61 && c <= 0x7a && argNum < a.length) {
              const verb = format[i];
              if (verb === "v") {
                this.sharpV = this.sharp;
                this.sharp = false;
                this.plusV = this.plus;
                this.plus = false;
              }
              this.printArg(a[argNum], verb);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simpleFormat;
        }
      }

      // Explicit argument index?
      if (i < end && format.charCodeAt(i) === 0x5b) {
        [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
      } else {
        afterIndex = false;
      }

      // Width.
      if (i < end && format.charCodeAt(i) === 0x2a) {
        i++;
        [this.wid, this.widPresent, argNum] = this.intFromArg(a, argNum);
        if (!this.widPresent) this.buf += "%!(BADWIDTH)";
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        i = this.parsenum(format, i, end);
        this.wid = this.num;
        this.widPresent = this.isnum;
        if (afterIndex && this.widPresent) this.goodArgNum = false; // "%[3]2d"
      }

      // Precision.
      if (i + 1 < end && format.charCodeAt(i) === 0x2e) {
        i++;
        if (afterIndex) this.goodArgNum = false; // "%[3].2d"
        if (i < end && format.charCodeAt(i) === 0x5b) {
          [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
        } else {
          afterIndex = false;
        }
        if (i < end && format.charCodeAt(i) === 0x2a) {
          i++;
          [this.prec, this.precPresent, argNum] = this.intFromArg(a, argNum);
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += "%!(BADPREC)";
          afterIndex = false;
        } else {
          i = this.parsenum(format, i, end);
          this.prec = this.num;
          this.precPresent = true; // "%.d" means precision 0
        }
      }

      if (!afterIndex && i < end && format.charCodeAt(i) === 0x5b) {
        [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
      }

      if (i >= end) {
        this.buf += "%!(NOVERB)";
        break;
      }

      const cp = format.codePointAt(i) ?? 0;
      const verb = cp >= 0xd800 && cp <= 0xdfff ? "\ufffd" : String.fromCodePoint(cp);
      i += cp > 0xffff ? 2 : 1;

      if (verb === "%") {
        this.buf += "%"; // absorbs no operand, ignores width and precision
      } else if (!this.goodArgNum) {
        this.buf += `%!${verb}(BADINDEX)`;
      } else if (argNum >= a.length) {
        this.buf += `%!${verb}(MISSING)`;
      } else {
        if (verb === "v") {
          this.sharpV = this.sharp;
          this.sharp = false;
          this.plusV = this.plus;
          this.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }

    // Extra operands, unless the format reordered them.
    if (!this.reordered && argNum < a.length) this.extraArgs(a, argNum);
  }

  /** %!(EXTRA type=value, ...) for operands the format did not use. */
  extraArgs(a: readonly unknown[], argNum: number): void {
    this.clearflags();
    this.buf += "%!(EXTRA ";
    for (let k = argNum; k < a.length; k++) {
      if (k > argNum) this.buf += ", ";
      const arg = a[k];
      if (arg === null || arg === undefined) {
        this.buf += "<nil>";
      } else {
        this.buf += `${goTypeName(arg)}=`;
        this.printArg(arg, "v");
      }
    }
    this.buf += ")";
  }
}

/** Go's parsenum: a decimal number at format[start:end]; [num, isnum, newi]. */
function parsenum(s: string, start: number, end: number): [number, boolean, number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    if (tooLarge(num)) return [0, false, end]; // overflow: crazy long number
    num = num * 10 + (c - 0x30);
    isnum = true;
  }
  return [num, isnum, i];
}

/** Go's parseArgNumber on format[i:] starting at '[': [index, consumed, ok]. */
function parseArgNumber(format: string, i: number): [number, number, boolean] {
  if (format.length - i < 3) return [0, 1, false];
  for (let j = i + 1; j < format.length; j++) {
    if (format.charCodeAt(j) === 0x5d) {
      const [width, ok, newi] = parsenum(format, i + 1, j);
      if (!ok || newi !== j) return [0, j - i + 1, false];
      return [width - 1, j - i + 1, true];
    }
  }
  return [0, 1, false];
}

/** A printer for one call; re-entrant calls (a String method that prints) get a fresh one. */
let cached: Printer | null = null;

export function getPrinter(): Printer {
  const p = cached ?? new Printer();
  cached = null;
  p.buf = "";
  p.clearflags();
  p.erroring = false;
  p.panicking = false;
  return p;
}

export function freePrinter(p: Printer): string {
  const s = p.buf;
  p.buf = "";
  cached = p;
  return s;
}

export { LDIGITS, U64, UDIGITS };
