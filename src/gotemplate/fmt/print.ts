// Go's fmt/print.go of Go 1.19 (the pp printer), ported to the template value
// model of ../value.ts: argument dispatch by kind, the %!verb(TYPE=value)
// error forms, String/Error methods of host structs, and containers (slices,
// maps in sorted key order, structs) with %v, %+v and %#v. Printf's format
// parsing is in printf.ts, its compiled fast path in compiled-format.ts.
import { GoComplex, GoStruct, GoUint8, sortedKeys } from "../value.js";
import { formatFloatV } from "./float.js";
import { Formatter, LDIGITS, UDIGITS } from "./format.js";
import { goTypeName, isInterfaceType, mapElemType, mapKeyType, sliceElemType } from "./types.js";

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

function isIntegerType(t: string): boolean {
  return /^u?int(8|16|32|64)?$|^uintptr$|^byte$|^rune$/.test(t);
}

/** A numeric map key (held as a JS property name) as the Go value it stands for. */
function numericKey(k: string, keyType: string): unknown {
  if (!isIntegerType(keyType)) return Number(k);
  try {
    return BigInt(k);
  } catch {
    return k; // not an integer after all: print the name as is
  }
}

function isByteType(t: string): boolean {
  return t === "uint8" || t === "byte";
}

function isUnsignedType(t: string): boolean {
  return t.startsWith("uint") || t === "byte" || t === "uintptr";
}

type Method = () => unknown;

export class Printer extends Formatter {
  erroring = false;
  panicking = false;
  reordered = false;
  goodArgNum = true;

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

  /** `arg` is the operand as given (a GoUint8 names its type in %!verb(uint8=...)). */
  fmtIntegerVerb(v: bigint, isSigned: boolean, verb: string, arg: unknown = v): void {
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
    this.badVerb(verb, arg, true);
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
      if ((typeof arg === "object" && !(arg instanceof GoUint8)) || typeof arg === "function")
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
    if (v instanceof GoUint8) {
      this.fmtIntegerVerb(v.value, false, verb, v);
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
    // A JS object's keys are strings; a host map typed with integer or float
    // keys (GO_TYPE "map[int]string") sorts and prints them as numbers, as Go does.
    const keyType = mapKeyType(t);
    const numeric = isIntegerType(keyType) || keyType === "float64" || keyType === "float32";
    const keys = numeric ? Object.keys(v).sort((a, b) => Number(a) - Number(b)) : sortedKeys(v);
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) this.buf += this.sharpV ? ", " : " ";
      const key = numeric ? numericKey(keys[i], keyType) : keys[i];
      this.printValue(key, verb, depth + 1, keyType);
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
