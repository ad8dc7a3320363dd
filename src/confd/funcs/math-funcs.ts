// confd's integer arithmetic: Go ints (64-bit, wrapping, truncated division).

import { FuncError, type FuncMap, goFunc, typedList } from "../../gotemplate/value.js";

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);
const big = (n: number | bigint): bigint => (typeof n === "bigint" ? n : BigInt(n));
const DIVIDE_BY_ZERO = "runtime error: integer divide by zero";

type IntArg = number | bigint;

export function mathFuncs(): FuncMap {
  const op = (f: (a: bigint, b: bigint) => bigint) =>
    goFunc(["int", "int"], (a: IntArg, b: IntArg) => wrap(f(big(a), big(b))), { result: "int" });
  return {
    add: op((a, b) => a + b),
    sub: op((a, b) => a - b),
    mul: op((a, b) => a * b),
    // BigInt division truncates toward zero, like Go.
    div: op((a, b) => {
      if (b === 0n) throw new FuncError(DIVIDE_BY_ZERO);
      return a / b;
    }),
    mod: op((a, b) => {
      if (b === 0n) throw new FuncError(DIVIDE_BY_ZERO);
      return a % b;
    }),
    seq: goFunc(["int", "int"], (first: IntArg, last: IntArg) => {
      const out: bigint[] = [];
      for (let i = big(first); i <= big(last); i++) out.push(i);
      return typedList("[]int", out);
    }),
  };
}
