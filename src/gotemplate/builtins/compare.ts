// eq ne lt le gt ge with Go 1.19's rules (text/template/funcs.go): basic kinds
// only, an int never equals a float64 ("incompatible types for comparison"),
// a missing value compares unequal to anything but another missing value.
// Integers of any type compare by value (Go 1.18's signed/unsigned rule), so
// a byte (GoUint8) takes part as its bigint value.

import { typeName } from "../exec/values.js";
import { sprintf } from "../fmt/index.js";
import { compareBytes, FuncError, GoComplex, GoStruct, integerValue } from "../value.js";

enum Kind {
  Invalid = 0,
  Bool,
  Complex,
  Int,
  Float,
  String,
}

function basicKind(v: unknown): Kind {
  switch (typeof v) {
    case "boolean":
      return Kind.Bool;
    case "bigint":
      return Kind.Int;
    case "number":
      return Kind.Float;
    case "string":
      return Kind.String;
  }
  return v instanceof GoComplex ? Kind.Complex : Kind.Invalid;
}

const errBadComparisonType = "invalid type for comparison";
const errBadComparison = "incompatible types for comparison";
const errNoComparison = "missing argument for comparison";

/** reflect Kind class of a non-basic value, for canCompare. */
function reflectKind(v: unknown): string {
  if (v === undefined) return "invalid";
  if (Array.isArray(v)) return "slice";
  if (v instanceof GoStruct) return "struct";
  if (typeof v === "function") return "func";
  if (typeof v === "object" && v !== null && typeof (v as { fn?: unknown }).fn === "function")
    return "func";
  return "map";
}

function comparable(v: unknown): boolean {
  const k = reflectKind(v);
  if (k === "struct")
    return Object.values(v as object).every(
      (f) => basicKind(f) !== Kind.Invalid || f instanceof GoStruct,
    );
  return k === "invalid";
}

function structEqual(a: unknown, b: unknown): boolean {
  if (!(a instanceof GoStruct) || !(b instanceof GoStruct) || a.goType !== b.goType) return false;
  const ka = Object.keys(a);
  for (const k of ka) {
    const x = (a as unknown as Record<string, unknown>)[k];
    const y = (b as unknown as Record<string, unknown>)[k];
    if (x instanceof GoStruct ? !structEqual(x, y) : x !== y) return false;
  }
  return true;
}

function basicEqual(k: Kind, a: unknown, b: unknown): boolean {
  if (k === Kind.Complex)
    return (
      (a as GoComplex).re === (b as GoComplex).re && (a as GoComplex).im === (b as GoComplex).im
    );
  return a === b;
}

/** eq arg1 arg2...: true when arg1 equals any of the others. */
export function eq(args: unknown[]): boolean {
  const a1 = args[0] === null ? undefined : integerValue(args[0]);
  if (args.length < 2) throw new FuncError(errNoComparison);
  const k1 = basicKind(a1);
  for (let i = 1; i < args.length; i++) {
    const a = args[i] === null ? undefined : integerValue(args[i]);
    const k2 = basicKind(a);
    let truth: boolean;
    if (k1 !== k2) {
      if (a1 !== undefined && a !== undefined) throw new FuncError(errBadComparison);
      truth = false;
    } else if (k1 !== Kind.Invalid) {
      truth = basicEqual(k1, a1, a);
    } else {
      const r1 = reflectKind(a1);
      const r2 = reflectKind(a);
      if (r1 !== r2 && r1 !== "invalid" && r2 !== "invalid") {
        throw new FuncError(
          `non-comparable types ${sprintf("%s", [a1])}: ${typeName(a1)}, ${typeName(a)}: ${sprintf("%v", [a])}`,
        );
      }
      if (a1 === undefined || a === undefined) {
        truth = a1 === a;
      } else {
        if (!comparable(a))
          throw new FuncError(`non-comparable type ${sprintf("%s", [a])}: ${typeName(a)}`);
        truth = structEqual(a1, a);
      }
    }
    if (truth) return true;
  }
  return false;
}

export function ne(args: unknown[]): boolean {
  return !eq(args);
}

export function lt(args: unknown[]): boolean {
  const a1 = args[0] === null ? undefined : integerValue(args[0]);
  const k1 = basicKind(a1);
  if (k1 === Kind.Invalid) throw new FuncError(errBadComparisonType);
  const a2 = args[1] === null ? undefined : integerValue(args[1]);
  const k2 = basicKind(a2);
  if (k2 === Kind.Invalid) throw new FuncError(errBadComparisonType);
  if (k1 !== k2) throw new FuncError(errBadComparison);
  switch (k1) {
    case Kind.Bool:
    case Kind.Complex:
      throw new FuncError(errBadComparisonType);
    case Kind.String:
      return compareBytes(a1 as string, a2 as string) < 0;
    default:
      return (a1 as number) < (a2 as number);
  }
}

export function le(args: unknown[]): boolean {
  return lt(args) || eq(args);
}

export function gt(args: unknown[]): boolean {
  return !le(args);
}

export function ge(args: unknown[]): boolean {
  return !lt(args);
}
