// Conversions sprig does through spf13/cast and its strval helper, on the
// project's Go value model (ints are bigint, float64 is number).

import { goTypeName, printValue, sprintf } from "../../gotemplate/fmt/index.js";
import { FuncError, GoStruct, GoUint8, integerValue, typedList } from "../../gotemplate/value.js";

export const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;

/** cast.ToInt64: ints, floats (truncated), bools, numeric strings (base prefixes); else 0. */
export function toInt64(given: unknown): bigint {
  const v = integerValue(given);
  switch (typeof v) {
    case "bigint":
      return v;
    case "number":
      return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    case "boolean":
      return v ? 1n : 0n;
    case "string": {
      const s = v.trim();
      if (/^[+-]?\d+$/.test(s)) return /^[+-]?0\d/.test(s) ? 0n : BigInt(s);
      if (
        /^[+-]?0[xX][0-9a-fA-F]+$/.test(s) ||
        /^[+-]?0[bB][01]+$/.test(s) ||
        /^[+-]?0[oO][0-7]+$/.test(s)
      ) {
        const neg = s.startsWith("-");
        const n = BigInt(s.replace(/^[+-]/, ""));
        return neg ? -n : n;
      }
      return 0n;
    }
    default:
      return 0n;
  }
}

/** cast.ToFloat64 */
export function toFloat64(given: unknown): number {
  const v = integerValue(given);
  switch (typeof v) {
    case "number":
      return v;
    case "bigint":
      return Number(v);
    case "boolean":
      return v ? 1 : 0;
    case "string": {
      const n = Number(v.trim());
      return v.trim() !== "" && Number.isFinite(n) ? n : 0;
    }
    default:
      return 0;
  }
}

/** sprig's strval: strings as is, []byte-less, error/Stringer, else %v. */
export function strval(v: unknown): string {
  if (typeof v === "string") return v;
  if (isNil(v)) return "<nil>";
  if (v instanceof GoStruct) {
    const s = (v as unknown as { String?: () => string }).String;
    if (typeof s === "function") return s.call(v);
  }
  return printValue(v);
}

/** sprig's strslice: a list's elements as strings (nil elements dropped), a scalar as [strval]. */
export function strslice(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x) => !isNil(x)).map(strval);
  if (isNil(v)) return [];
  return [strval(v)];
}

export function asList(v: unknown, fn: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (isNil(v)) return [];
  throw new FuncError(`Cannot find ${fn} on type ${typeOf(v)}`);
}

export function typeOf(v: unknown): string {
  return sprintf("%T", [v]);
}

export function list(items: unknown[]): unknown[] {
  return items;
}

export function strings(items: string[]): string[] {
  return typedList("[]string", items);
}

/** sprig's empty(): zero values and empty collections. */
export function isEmpty(v: unknown): boolean {
  if (isNil(v)) return true;
  switch (typeof v) {
    case "string":
      return v === "";
    case "number":
      return v === 0;
    case "bigint":
      return v === 0n;
    case "boolean":
      return !v;
  }
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof GoStruct) return false;
  if (v instanceof GoUint8) return v.value === 0n;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof GoStruct) &&
    !(v instanceof GoUint8)
  );
}

/** reflect.Kind of a value as sprig prints it (kindOf, error texts); a basic type's kind is its name. */
export function kindOf(v: unknown): string {
  if (isNil(v)) return "invalid";
  if (Array.isArray(v)) return "slice";
  if (v instanceof GoStruct) return v.goType.startsWith("*") ? "ptr" : "struct";
  if (typeof v === "function") return "func";
  const t = goTypeName(v);
  return typeof v === "object" && t !== "complex128" && t !== "uint8" ? "map" : t;
}
