// Go's Printf format parser (doPrintf of fmt/print.go, Go 1.19), step by
// step: flags, explicit argument indexes [n], `*` widths and precisions from
// int operands, and the BADWIDTH/BADPREC/BADINDEX/MISSING/NOVERB/EXTRA forms.
// compiled-format.ts replays formats without `*` and `[n]` faster.
import { integerValue } from "../value.js";
import type { Printer } from "./print.js";

/** Go's tooLarge: widths and precisions are bounded by 1e6. */
function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

/** Result of parsenumAt: the number and whether digits were present. */
let parsedNum = 0;
let parsedIsNum = false;

/** Go's intFromArg: a width or precision from an int operand. */
function intFromArg(a: readonly unknown[], argNum: number): [number, boolean, number] {
  let num = 0;
  let isInt = false;
  let newArgNum = argNum;
  if (argNum < a.length) {
    // Go takes a width from an operand of any integer type (reflect's Uint for a byte)
    const v = integerValue(a[argNum]);
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

/** Go's parsenum on format[start:end]: sets num/isnum, returns the new index. */
function parsenumAt(s: string, start: number, end: number): number {
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    if (num > 1e6) {
      // Overflow (tooLarge): a crazy long number swallows the rest of the format.
      parsedNum = 0;
      parsedIsNum = false;
      return end;
    }
    num = num * 10 + (c - 0x30);
    isnum = true;
  }
  parsedNum = num;
  parsedIsNum = isnum;
  return i;
}

/** Go's argNumber: an explicit [n] index at format[i]. */
function argNumber(
  p: Printer,
  argNum: number,
  format: string,
  i: number,
  numArgs: number,
): [number, number, boolean] {
  if (format.length <= i || format.charCodeAt(i) !== 0x5b) return [argNum, i, false];
  p.reordered = true;
  const [index, wid, ok] = parseArgNumber(format, i);
  if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
  p.goodArgNum = false;
  return [argNum, i + wid, ok];
}

/** Go's doPrintf, step by step (formats with `*` widths or `[n]` indexes, and the reference path). */
export function doPrintf(p: Printer, format: string, a: readonly unknown[]): void {
  const end = format.length;
  let argNum = 0;
  let afterIndex = false;
  p.reordered = false;
  formatLoop: for (let i = 0; i < end; ) {
    p.goodArgNum = true;
    const lasti = i;
    while (i < end && format.charCodeAt(i) !== 0x25) i++;
    if (i > lasti) p.buf += format.slice(lasti, i);
    if (i >= end) break;
    i++; // skip %
    p.clearflags();
    simpleFormat: for (; i < end; i++) {
      const c = format.charCodeAt(i);
      switch (c) {
        case 0x23: // #
          p.sharp = true;
          break;
        case 0x30: // 0: only pad with zeros to the left
          p.zero = !p.minus;
          break;
        case 0x2b: // +
          p.plus = true;
          break;
        case 0x2d: // -
          p.minus = true;
          p.zero = false;
          break;
        case 0x20:
          p.space = true;
          break;
        default:
          // Fast path: a lower-case verb without width, precision or index.
          if (c >= 0x61 && c <= 0x7a && argNum < a.length) {
            const verb = format[i];
            if (verb === "v") {
              p.sharpV = p.sharp;
              p.sharp = false;
              p.plusV = p.plus;
              p.plus = false;
            }
            p.printArg(a[argNum], verb);
            argNum++;
            i++;
            continue formatLoop;
          }
          break simpleFormat;
      }
    }

    // Explicit argument index?
    if (i < end && format.charCodeAt(i) === 0x5b) {
      [argNum, i, afterIndex] = argNumber(p, argNum, format, i, a.length);
    } else {
      afterIndex = false;
    }

    // Width.
    if (i < end && format.charCodeAt(i) === 0x2a) {
      i++;
      [p.wid, p.widPresent, argNum] = intFromArg(a, argNum);
      if (!p.widPresent) p.buf += "%!(BADWIDTH)";
      if (p.wid < 0) {
        p.wid = -p.wid;
        p.minus = true;
        p.zero = false;
      }
      afterIndex = false;
    } else {
      i = parsenumAt(format, i, end);
      p.wid = parsedNum;
      p.widPresent = parsedIsNum;
      if (afterIndex && p.widPresent) p.goodArgNum = false; // "%[3]2d"
    }

    // Precision.
    if (i + 1 < end && format.charCodeAt(i) === 0x2e) {
      i++;
      if (afterIndex) p.goodArgNum = false; // "%[3].2d"
      if (i < end && format.charCodeAt(i) === 0x5b) {
        [argNum, i, afterIndex] = argNumber(p, argNum, format, i, a.length);
      } else {
        afterIndex = false;
      }
      if (i < end && format.charCodeAt(i) === 0x2a) {
        i++;
        [p.prec, p.precPresent, argNum] = intFromArg(a, argNum);
        if (p.prec < 0) {
          p.prec = 0;
          p.precPresent = false;
        }
        if (!p.precPresent) p.buf += "%!(BADPREC)";
        afterIndex = false;
      } else {
        i = parsenumAt(format, i, end);
        p.prec = parsedNum;
        p.precPresent = true; // "%.d" means precision 0
      }
    }

    if (!afterIndex && i < end && format.charCodeAt(i) === 0x5b) {
      [argNum, i, afterIndex] = argNumber(p, argNum, format, i, a.length);
    }

    if (i >= end) {
      p.buf += "%!(NOVERB)";
      break;
    }

    const cp = format.codePointAt(i) ?? 0;
    const verb = cp >= 0xd800 && cp <= 0xdfff ? "\ufffd" : String.fromCodePoint(cp);
    i += cp > 0xffff ? 2 : 1;

    if (verb === "%") {
      p.buf += "%"; // absorbs no operand, ignores width and precision
    } else if (!p.goodArgNum) {
      p.buf += `%!${verb}(BADINDEX)`;
    } else if (argNum >= a.length) {
      p.buf += `%!${verb}(MISSING)`;
    } else {
      if (verb === "v") {
        p.sharpV = p.sharp;
        p.sharp = false;
        p.plusV = p.plus;
        p.plus = false;
      }
      p.printArg(a[argNum], verb);
      argNum++;
    }
  }

  // Extra operands, unless the format reordered them.
  if (!p.reordered && argNum < a.length) p.extraArgs(a, argNum);
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
