// Function registry: turns a FuncMap of GoFuncs (or plain JS functions) into
// exec's FuncEntry, converting between Go values and what the JS function
// expects: "int" parameters arrive as JS numbers, an "int" result becomes a
// Go int (bigint). exec has already checked argument types the Go way.

import type { FuncEntry } from "./exec/func-entry.js";
import { FuncError, type GoFunc } from "./value.js";

type JsFunc = (...args: never[]) => unknown;

/** Go's goodName: a function name must be an identifier. */
export function isGoodFuncName(name: string): boolean {
  return /^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name);
}

function toJs(t: string, v: unknown): unknown {
  if (
    (t === "int" || t === "int64" || t === "int32" || t === "uint" || t === "uint64") &&
    typeof v === "bigint"
  ) {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new FuncError(`integer ${v} out of range for a JavaScript function`);
    }
    return Number(v);
  }
  return v;
}

function fromJs(t: string | undefined, v: unknown): unknown {
  if (v === undefined) return null;
  if ((t === "int" || t === "int64") && typeof v === "number") {
    if (!Number.isInteger(v))
      throw new FuncError(`function returned non-integer ${v} for int result`);
    return BigInt(v);
  }
  if (t === "float64" && typeof v === "bigint") return Number(v);
  return v;
}

/** FuncEntry for a GoFunc or a plain JS function (treated as func(...interface{}) interface{}). */
export function funcEntry(name: string, f: GoFunc | JsFunc): FuncEntry {
  if (typeof f === "function") {
    return {
      name,
      params: [],
      variadic: "any",
      builtin: false,
      call: (args) => fromJs(undefined, (f as (...a: unknown[]) => unknown)(...args)),
    };
  }
  const params = f.params.slice();
  const variadic = f.variadic ?? null;
  const fn = f.fn as (...a: unknown[]) => unknown;
  const result = f.result;
  const needsConversion =
    !f.bigInts &&
    (params.some((p) => p !== "any" && p !== "string") ||
      (variadic !== null && variadic !== "any" && variadic !== "string"));
  const call = needsConversion
    ? (args: unknown[]) => {
        const conv = new Array(args.length);
        for (let i = 0; i < args.length; i++)
          conv[i] = toJs(i < params.length ? (params[i] as string) : (variadic as string), args[i]);
        return fromJs(result, fn(...conv));
      }
    : (args: unknown[]) => fromJs(result, fn(...args));
  return { name, params, variadic, builtin: false, call };
}
