// Character classes of Go's regexp syntax as code point ranges (so that
// negation, case folding and Go's ASCII-only Perl and POSIX classes come out
// exactly), plus JavaScript \p{...} fragments for Unicode classes.

import { casedCodePoints, foldOrbit } from "./case-fold.js";

export type Range = [number, number];

const MAX_RUNE = 0x10ffff;

/** Go's Perl classes (ASCII only, unlike JavaScript's \s). */
export const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const r = (a: string, b = a): Range => [a.charCodeAt(0), b.charCodeAt(0)];

/** Go's POSIX classes ([:alpha:] ...), ASCII. */
export const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [r("0", "9"), r("A", "Z"), r("a", "z")],
  alpha: [r("A", "Z"), r("a", "z")],
  ascii: [[0, 0x7f]],
  blank: [r("\t"), r(" ")],
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [r("0", "9")],
  graph: [r("!", "~")],
  lower: [r("a", "z")],
  print: [r(" ", "~")],
  punct: [r("!", "/"), r(":", "@"), r("[", "`"), r("{", "~")],
  space: [r("\t", "\r"), r(" ")],
  upper: [r("A", "Z")],
  word: [r("0", "9"), r("A", "Z"), r("_"), r("a", "z")],
  xdigit: [r("0", "9"), r("A", "F"), r("a", "f")],
};

/** Sorted, merged ranges. */
export function normalize(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** The complement over every rune. */
export function negate(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

/** The ranges plus every case variant of what they hold (Go's appendFoldedRange). */
export function fold(ranges: Range[]): Range[] {
  const out = [...ranges];
  const inRanges = (c: number) => ranges.some(([lo, hi]) => c >= lo && c <= hi);
  for (const c of casedCodePoints()) {
    if (!inRanges(c)) continue;
    for (const f of foldOrbit(c)) out.push([f, f]);
  }
  return normalize(out);
}

/** A code point as a JavaScript (u-mode) regexp escape, valid inside and outside classes. */
export function cpEscape(c: number): string {
  return `\\u{${c.toString(16)}}`;
}

/** Go's Unicode class names (unicode.Categories) to JavaScript property escapes. */
const CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split(
    " ",
  ),
);

/** `\p{name}` for a Go class name (category, script or Any); null when Go has no such class. */
export function unicodeClass(name: string, negated: boolean): string | Range[] | null {
  if (name === "Any") return negated ? [] : [[0, MAX_RUNE]];
  const p = negated ? "P" : "p";
  if (CATEGORIES.has(name)) return `\\${p}{gc=${name}}`;
  if (!/^[A-Z][A-Za-z_]*$/.test(name)) return null;
  try {
    new RegExp(`\\p{Script=${name}}`, "u");
  } catch {
    return null;
  }
  return `\\${p}{Script=${name}}`;
}

/** A class body: ranges and \p fragments; `negated` for [^...]. */
export function classSource(ranges: Range[], raw: string[], negated: boolean): string {
  const body =
    normalize(ranges)
      .map(([lo, hi]) => (lo === hi ? cpEscape(lo) : `${cpEscape(lo)}-${cpEscape(hi)}`))
      .join("") + raw.join("");
  return `[${negated ? "^" : ""}${body}]`;
}
