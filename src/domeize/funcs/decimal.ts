// The part of shopspring/decimal that sprig's addf/subf/mulf/divf use:
// NewFromFloat (the shortest decimal that round-trips the float64), exact
// Add/Sub/Mul, Div rounded half away from zero to 16 places
// (DivisionPrecision), and Float64 (the nearest float64). So
// `1.2 | mulf "2.4" 10 "4"` is 115.2, as in sprig, not 115.19999999999999.

import { FuncError } from "../../gotemplate/value.js";

/** coef × 10^exp */
export interface Decimal {
  coef: bigint;
  exp: number;
}

const DIVISION_PRECISION = 16;

/** decimal.NewFromFloat: JavaScript's shortest round-trip digits are Go's ('g', -1). */
export function fromFloat(f: number): Decimal {
  if (!Number.isFinite(f)) throw new FuncError(`Cannot create a Decimal from ${f}`);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(f)) as RegExpExecArray;
  const frac = m[3] ?? "";
  const coef = BigInt(`${m[1]}${m[2]}${frac}`);
  return { coef, exp: Number(m[4] ?? 0) - frac.length };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.coef * 10n ** BigInt(a.exp - exp), b.coef * 10n ** BigInt(b.exp - exp), exp];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { coef: x + y, exp };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { coef: x - y, exp };
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { coef: a.coef * b.coef, exp: a.exp + b.exp };
}

/** Decimal.Div = DivRound(d2, 16): the quotient rounded half away from zero at 10^-16. */
export function div(a: Decimal, b: Decimal): Decimal {
  if (b.coef === 0n) throw new FuncError("decimal division by 0");
  // a/b × 10^16 = a.coef × 10^(a.exp - b.exp + 16) / b.coef
  const shift = a.exp - b.exp + DIVISION_PRECISION;
  let num = a.coef;
  let den = b.coef;
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den *= 10n ** BigInt(-shift);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  let q = num / den;
  const r = num % den;
  if (2n * (r < 0n ? -r : r) >= den) q += num < 0n ? -1n : 1n;
  return { coef: q, exp: -DIVISION_PRECISION };
}

/** Decimal.Float64: the float64 nearest the exact value (JavaScript parses decimals exactly rounded). */
export function toFloat(d: Decimal): number {
  return Number(`${d.coef}e${d.exp}`);
}
