// sprig v3 math: integer functions convert with cast.ToInt64 and return
// int64; float functions convert with cast.ToFloat64.

import { FuncError, type FuncMap, goFunc } from "../../gotemplate/value.js";
import { toFloat64, toInt64 } from "./convert.js";
import * as decimal from "./decimal.js";

const ANY = "any";

/** Go int64 arithmetic: results wrap around (two's complement), they never grow. */
function int64(fn: (...xs: bigint[]) => bigint, params: number, variadic = false) {
  return goFunc(
    Array(params).fill(ANY),
    ((...xs: unknown[]) => BigInt.asIntN(64, fn(...xs.map(toInt64)))) as never,
    variadic ? { variadic: ANY } : {},
  );
}

function float(fn: (...xs: number[]) => number, params: number, variadic = false) {
  return goFunc(
    Array(params).fill(ANY),
    ((...xs: unknown[]) => fn(...xs.map(toFloat64))) as never,
    variadic ? { variadic: ANY } : {},
  );
}

/** sprig's execDecimalOp: each operand through decimal.NewFromFloat, the result as float64. */
function decimalOp(op: (a: decimal.Decimal, b: decimal.Decimal) => decimal.Decimal) {
  return (first: unknown, ...rest: unknown[]) =>
    decimal.toFloat(
      rest.reduce<decimal.Decimal>(
        (acc, x) => op(acc, decimal.fromFloat(toFloat64(x))),
        decimal.fromFloat(toFloat64(first)),
      ),
    );
}

// biome-ignore lint/complexity/useMathMinMax: bigint, Math.max takes numbers only
const max = (a: bigint, ...xs: bigint[]) => xs.reduce((m, x) => (x > m ? x : m), a);
// biome-ignore lint/complexity/useMathMinMax: bigint, Math.min takes numbers only
const min = (a: bigint, ...xs: bigint[]) => xs.reduce((m, x) => (x < m ? x : m), a);

function round(a: unknown, p: bigint, ...r: unknown[]): number {
  const roundOn = r.length > 0 ? toFloat64(r[0]) : 0.5;
  const pow = 10 ** Number(p);
  const digit = toFloat64(a) * pow;
  const div = digit - Math.trunc(digit);
  const v = div >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return v / pow;
}

export function sprigMath(): FuncMap {
  return {
    add1: int64((a) => a + 1n, 1),
    add: int64((...xs) => xs.reduce((s, x) => s + x, 0n), 0, true),
    sub: int64((a, b) => a - b, 2),
    mul: int64((a, ...xs) => xs.reduce((s, x) => s * x, a), 1, true),
    div: int64((a, b) => {
      if (b === 0n) throw new FuncError("runtime error: integer divide by zero");
      return a / b;
    }, 2),
    mod: int64((a, b) => {
      if (b === 0n) throw new FuncError("runtime error: integer divide by zero");
      return a % b;
    }, 2),
    max: int64(max, 1, true),
    biggest: int64(max, 1, true),
    min: int64(min, 1, true),
    randInt: int64((lo, hi) => lo + BigInt(Math.floor(Math.random() * Number(hi - lo))), 2),
    add1f: goFunc([ANY], ((a: unknown) => decimalOp(decimal.add)(a, 1)) as never),
    addf: goFunc([], ((...xs: unknown[]) => decimalOp(decimal.add)(0, ...xs)) as never, {
      variadic: ANY,
    }),
    subf: goFunc([ANY], decimalOp(decimal.sub) as never, { variadic: ANY }),
    mulf: goFunc([ANY], decimalOp(decimal.mul) as never, { variadic: ANY }),
    divf: goFunc([ANY], decimalOp(decimal.div) as never, { variadic: ANY }),
    maxf: float((a, ...xs) => Math.max(a, ...xs), 1, true),
    minf: float((a, ...xs) => Math.min(a, ...xs), 1, true),
    ceil: float(Math.ceil, 1),
    floor: float(Math.floor, 1),
    round: goFunc(
      [ANY, "int"],
      ((a: unknown, p: number, ...r: unknown[]) => round(a, BigInt(p), ...r)) as never,
      {
        variadic: "float64",
      },
    ),
    int: goFunc([ANY], ((v: unknown) => toInt64(v)) as never),
    int64: goFunc([ANY], ((v: unknown) => toInt64(v)) as never),
    float64: goFunc([ANY], ((v: unknown) => toFloat64(v)) as never, { result: "float64" }),
    toDecimal: goFunc([ANY], ((v: unknown) => {
      const s = String(typeof v === "string" ? v : toInt64(v));
      return /^[0-7]+$/.test(s) ? BigInt(`0o${s}`) : 0n;
    }) as never),
  };
}
