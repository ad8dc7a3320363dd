// Printf formats compiled once. Templates pass the same constant format to
// printf on every execution; Go re-parses it each time, we parse it once into
// literal text and verb specs and replay them. Formats whose meaning depends
// on the operands (`*` widths, `[n]` argument indexes) are not compiled and go
// through Printer.doPrintf, which follows Go's parser step by step.
import type { Printer } from "./print.js";

const SHARP = 1;
const ZERO = 2;
const PLUS = 4;
const MINUS = 8;
const SPACE = 16;

const VERB = 0;
const PERCENT = 1;
const NOVERB = 2;

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
}

export interface CompiledFormat {
  specs: Spec[];
  tail: string;
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
    if (i >= end) return { specs, tail: lit };
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
      return { specs, tail: "" };
    }
    const cp = format.codePointAt(i) ?? 0;
    spec.verb = cp >= 0xd800 && cp <= 0xdfff ? "\ufffd" : String.fromCodePoint(cp);
    i += cp > 0xffff ? 2 : 1;
    if (spec.verb === "%") spec.kind = PERCENT;
    specs.push(spec);
  }
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
    const arg = a[argNum++];
    // The commonest operand skips printArg's dispatch: %s or %v of a string.
    if (typeof arg === "string" && (s.verb === "s" || (s.verb === "v" && !p.sharpV))) {
      p.fmtS(arg);
    } else {
      p.printArg(arg, s.verb);
    }
  }
  p.buf += cf.tail;
  if (argNum < a.length) p.extraArgs(a, argNum);
}
