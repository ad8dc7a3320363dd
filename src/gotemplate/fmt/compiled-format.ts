// Printf formats compiled once. Templates pass the same constant format to
// printf on every execution; Go re-parses it each time, we parse it once into
// literal text and verb specs and replay them. Formats whose meaning depends
// on the operands (`*` widths, `[n]` argument indexes) are not compiled and go
// through Printer.doPrintf, which follows Go's parser step by step.

import { quote } from "../../golib/quote.js";
import { runeCount } from "../../golib/utf8.js";
import { formatFloatV } from "./float.js";
import { SPACES } from "./format.js";
import type { Printer } from "./print.js";

const SHARP = 1;
const ZERO = 2;
const PLUS = 4;
const MINUS = 8;
const SPACE = 16;

const VERB = 0;
const PERCENT = 1;
const NOVERB = 2;

// Fast paths for a verb with at most a width and "-" (the usual printf in
// templates): the operand kinds they handle are formatted here directly; any
// other operand takes the full printArg path with the spec's flags.
const FAST_NONE = 0;
const FAST_S = 1; // %s of a string
const FAST_V = 2; // %v of a string, float64, int or bool
const FAST_T = 3; // %t of a bool
const FAST_D = 4; // %d of an int
const FAST_X = 5; // %x of an int
const FAST_UX = 6; // %X of an int
const FAST_Q = 7; // %q of a string
const FAST_VERBS: Record<string, number> = {
  s: FAST_S,
  v: FAST_V,
  t: FAST_T,
  d: FAST_D,
  x: FAST_X,
  X: FAST_UX,
  q: FAST_Q,
};

interface Spec {
  /** Literal text before the verb. */
  lit: string;
  kind: number;
  verb: string;
  flags: number;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
  fast: number;
}

export interface CompiledFormat {
  specs: Spec[];
  tail: string;
  /** Every spec is a verb with a fast path (so the format may skip the Printer). */
  allFast: boolean;
}

const MAX_CACHED = 2048;
const cache = new Map<string, CompiledFormat | null>();

/** The compiled form of a format, or null when it needs the operand-aware parser. */
export function compiledFormat(format: string): CompiledFormat | null {
  let cf = cache.get(format);
  if (cf === undefined) {
    cf = compile(format);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(format, cf);
  }
  return cf;
}

/** Decimal digits at s[i..]: [value, next index]; a value over 1e6 swallows the rest (Go's tooLarge). */
function digits(s: string, i: number): [number, number, boolean] {
  let num = 0;
  let isnum = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    if (num > 1e6) return [0, s.length, false];
    num = num * 10 + (c - 0x30);
    isnum = true;
  }
  return [num, i, isnum];
}

function compile(format: string): CompiledFormat | null {
  const specs: Spec[] = [];
  const end = format.length;
  let i = 0;
  for (;;) {
    const lasti = i;
    while (i < end && format.charCodeAt(i) !== 0x25) i++;
    const lit = format.slice(lasti, i);
    if (i >= end) return { specs, tail: lit, allFast: specs.every((sp) => sp.fast !== FAST_NONE) };
    i++;
    let flags = 0;
    flagLoop: for (; i < end; i++) {
      switch (format.charCodeAt(i)) {
        case 0x23:
          flags |= SHARP;
          break;
        case 0x30:
          if (flags & MINUS) flags &= ~ZERO;
          else flags |= ZERO;
          break;
        case 0x2b:
          flags |= PLUS;
          break;
        case 0x2d:
          flags = (flags | MINUS) & ~ZERO;
          break;
        case 0x20:
          flags |= SPACE;
          break;
        default:
          break flagLoop;
      }
    }
    const spec: Spec = {
      lit,
      kind: VERB,
      verb: "",
      flags,
      wid: 0,
      widPresent: false,
      prec: 0,
      precPresent: false,
      fast: FAST_NONE,
    };
    let c = format.charCodeAt(i);
    if (c === 0x5b || c === 0x2a) return null;
    [spec.wid, i, spec.widPresent] = digits(format, i);
    if (i + 1 < end && format.charCodeAt(i) === 0x2e) {
      i++;
      c = format.charCodeAt(i);
      if (c === 0x5b || c === 0x2a) return null;
      [spec.prec, i] = digits(format, i);
      spec.precPresent = true;
    }
    if (format.charCodeAt(i) === 0x5b) return null;
    if (i >= end) {
      spec.kind = NOVERB;
      specs.push(spec);
      return { specs, tail: "", allFast: false };
    }
    const cp = format.codePointAt(i) ?? 0;
    spec.verb = cp >= 0xd800 && cp <= 0xdfff ? "\ufffd" : String.fromCodePoint(cp);
    i += cp > 0xffff ? 2 : 1;
    if (spec.verb === "%") spec.kind = PERCENT;
    else if ((flags & ~MINUS) === 0 && !spec.precPresent)
      spec.fast = FAST_VERBS[spec.verb] ?? FAST_NONE;
    specs.push(spec);
  }
}

function intDigits(v: bigint, base: number): string {
  if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v).toString(base);
  return v.toString(base);
}

/** The unpadded text of a fast-path verb, or undefined when the operand needs printArg. */
function fastText(kind: number, arg: unknown): string | undefined {
  switch (kind) {
    case FAST_S:
      return typeof arg === "string" ? arg : undefined;
    case FAST_V:
      switch (typeof arg) {
        case "string":
          return arg;
        case "number":
          return formatFloatV(arg);
        case "bigint":
          return intDigits(arg, 10);
        case "boolean":
          return arg ? "true" : "false";
      }
      return undefined;
    case FAST_T:
      return typeof arg === "boolean" ? (arg ? "true" : "false") : undefined;
    case FAST_D:
      return typeof arg === "bigint" ? intDigits(arg, 10) : undefined;
    case FAST_X:
      return typeof arg === "bigint" ? intDigits(arg, 16) : undefined;
    case FAST_UX:
      return typeof arg === "bigint" ? intDigits(arg, 16).toUpperCase() : undefined;
    case FAST_Q:
      return typeof arg === "string" ? quote(arg) : undefined;
  }
  return undefined;
}

/** s padded with spaces to wid runes, on the right when minus. */
function padded(s: string, wid: number, minus: boolean): string {
  if (wid === 0) return s;
  const n = wid - runeCount(s);
  if (n <= 0) return s;
  const pad = n < SPACES.length ? SPACES[n] : " ".repeat(n);
  return minus ? s + pad : pad + s;
}

/**
 * The whole output when every verb takes its fast path with exactly one
 * operand each (no Printer, no flags state); undefined otherwise.
 */
export function runAllFast(cf: CompiledFormat, a: readonly unknown[]): string | undefined {
  const specs = cf.specs;
  if (!cf.allFast || a.length !== specs.length) return undefined;
  let out = "";
  for (let k = 0; k < specs.length; k++) {
    const s = specs[k];
    const text = fastText(s.fast, a[k]);
    if (text === undefined) return undefined;
    out += s.lit + padded(text, s.wid, s.flags !== 0);
  }
  return out + cf.tail;
}

/** Replays a compiled format: Go's doPrintf for formats without `*` and `[n]`. */
export function runCompiled(p: Printer, cf: CompiledFormat, a: readonly unknown[]): void {
  const specs = cf.specs;
  let argNum = 0;
  for (let k = 0; k < specs.length; k++) {
    const s = specs[k];
    if (s.lit.length > 0) p.buf += s.lit;
    if (s.kind !== VERB) {
      if (s.kind === PERCENT) {
        p.buf += "%"; // absorbs no operand, ignores width and precision
        continue;
      }
      p.buf += "%!(NOVERB)";
      break;
    }
    if (argNum >= a.length) {
      p.buf += `%!${s.verb}(MISSING)`;
      continue;
    }
    const arg = a[argNum++];
    if (s.fast !== FAST_NONE) {
      const text = fastText(s.fast, arg);
      if (text !== undefined) {
        p.buf += padded(text, s.wid, s.flags !== 0);
        continue;
      }
    }
    const f = s.flags;
    p.minus = (f & MINUS) !== 0;
    p.zero = (f & ZERO) !== 0;
    p.space = (f & SPACE) !== 0;
    if (s.verb === "v") {
      // %+v and %#v are different, flagless formats.
      p.sharpV = (f & SHARP) !== 0;
      p.plusV = (f & PLUS) !== 0;
      p.sharp = false;
      p.plus = false;
    } else {
      p.sharp = (f & SHARP) !== 0;
      p.plus = (f & PLUS) !== 0;
      p.sharpV = false;
      p.plusV = false;
    }
    p.wid = s.wid;
    p.widPresent = s.widPresent;
    p.prec = s.prec;
    p.precPresent = s.precPresent;
    p.printArg(arg, s.verb);
  }
  p.buf += cf.tail;
  if (argNum < a.length) p.extraArgs(a, argNum);
}
