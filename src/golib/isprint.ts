// strconv.IsPrint and isInGraphicList, ported from Go 1.19 with its tables.
import { isGraphic, isNotPrint16, isNotPrint32, isPrint16, isPrint32 } from "./isprint-tables.js";

/** Smallest i with a[i] >= x (or a.length). */
function bsearch(a: Uint16Array | Uint32Array, x: number): number {
  let i = 0;
  let j = a.length;
  while (i < j) {
    const h = (i + j) >>> 1;
    if (a[h] < x) i = h + 1;
    else j = h;
  }
  return i;
}

function inRanges(ranges: Uint16Array | Uint32Array, r: number): boolean {
  const i = bsearch(ranges, r);
  return i < ranges.length && r >= ranges[i & ~1] && r <= ranges[i | 1];
}

/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(r: number): boolean {
  if (r <= 0xff) {
    if (r >= 0x20 && r <= 0x7e) return true;
    if (r >= 0xa1 && r <= 0xff) return r !== 0xad;
    return false;
  }
  if (r < 0x10000) {
    if (!inRanges(isPrint16, r)) return false;
    const j = bsearch(isNotPrint16, r);
    return j >= isNotPrint16.length || isNotPrint16[j] !== r;
  }
  if (r > 0x10ffff || !inRanges(isPrint32, r)) return false;
  if (r >= 0x20000) return true;
  const low = r - 0x10000;
  const j = bsearch(isNotPrint32, low);
  return j >= isNotPrint32.length || isNotPrint32[j] !== low;
}

/** Graphic but not printable (the non-ASCII spaces), for QuoteToGraphic. */
export function isInGraphicList(r: number): boolean {
  if (r > 0xffff) return false;
  const i = bsearch(isGraphic, r);
  return i < isGraphic.length && isGraphic[i] === r;
}
