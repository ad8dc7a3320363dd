// How exec classifies JS values as Go values (see ../value.ts for the model):
// kinds, Go type names, truth, zero values and assignability.

import { goTypeName, IFACE, isInterfaceType, mapElemType, sliceElemType } from "../fmt/types.js";
import { GO_TYPE, GoComplex, type GoFunc, GoStruct, GoUint8 } from "../value.js";

/** "No final argument" in a pipeline stage (Go's missingVal). */
export const MISSING: unique symbol = Symbol("missing");
/** A variable slot not (or no longer) pushed on Go's variable stack. */
export const UNSET: unique symbol = Symbol("unset");

/** Parameter type of Go's builtins that take reflect.Value: the value passes raw (nil interface and invalid stay distinct). */
export const REFLECT = "reflect.Value";

/** A GoFunc object used as a value (for `call`). */
export function isGoFunc(v: unknown): v is GoFunc {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as GoFunc).fn === "function" &&
    Array.isArray((v as GoFunc).params) &&
    Object.getPrototypeOf(v) === Object.prototype
  );
}

/** Is v a Go map (a plain object, tagged or not)? */
export function isMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !isGoFunc(v);
}

export function isFunc(v: unknown): boolean {
  return typeof v === "function" || isGoFunc(v);
}

/** Go type name of a GoFunc as reflect prints it. */
export function funcTypeName(f: GoFunc | ((...a: never[]) => unknown)): string {
  if (typeof f === "function") return "func(...interface {}) interface {}";
  const ps = f.params.map(goParam);
  if (f.variadic !== undefined) ps.push(`...${goParam(f.variadic)}`);
  return `func(${ps.join(", ")}) ${goParam(f.result ?? "any")}`;
}

function goParam(t: string): string {
  return t === "any" ? IFACE : t;
}

/** reflect.Value.Type().String() of a (non-nil) value. */
export function typeName(v: unknown): string {
  if (v === null) return IFACE;
  if (typeof v === "function" || isGoFunc(v)) return funcTypeName(v as GoFunc);
  return goTypeName(v);
}

/** Does a container of this value hold its elements as interface{} (so a nil element is a nil interface)? */
export function hasInterfaceElems(container: unknown): boolean {
  const tag = (container as { [GO_TYPE]?: string })[GO_TYPE];
  if (tag === undefined) return true;
  // A named type ("memkv.KVPairs") hides its element type: assume a concrete one.
  if (!tag.startsWith("[]") && !tag.startsWith("map[")) return false;
  return isInterfaceType(Array.isArray(container) ? sliceElemType(tag) : mapElemType(tag));
}

/** Go's isTrue after indirectInterface (always ok for the kinds of this model). */
export function truth(v: unknown): boolean {
  switch (typeof v) {
    case "boolean":
      return v;
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "undefined":
      return false;
    case "function":
      return true;
  }
  if (v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof GoStruct) return true;
  if (v instanceof GoComplex) return v.re !== 0 || v.im !== 0;
  if (v instanceof GoUint8) return v.value !== 0n;
  if (isGoFunc(v)) return true;
  for (const k in v as object) if (Object.hasOwn(v as object, k)) return true;
  return false;
}

/** Can a Go value of this type be nil? */
export function canBeNil(t: string): boolean {
  return (
    t === REFLECT ||
    t === "any" ||
    isInterfaceType(t) ||
    t.startsWith("[]") ||
    t.startsWith("map[") ||
    t.startsWith("func") ||
    t.startsWith("*") ||
    t.startsWith("chan ")
  );
}

/** reflect.Zero(type) in this model. */
export function zeroOf(t: string): unknown {
  switch (t) {
    case "string":
      return "";
    case "bool":
      return false;
    case "float64":
    case "float32":
      return 0;
    case "int":
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "uint":
    case "uint8":
    case "uint16":
    case "uint32":
    case "uint64":
    case "byte":
    case "rune":
      return 0n;
    case "complex128":
      return new GoComplex(0, 0);
  }
  return null;
}

/** Is a value of Go type `vt` assignable to a parameter of type `pt`? */
export function assignable(vt: string, pt: string): boolean {
  if (vt === pt || pt === "any" || isInterfaceType(pt)) return true;
  // Function libraries declare "int64" for integers; our integers are all "int".
  if (pt === "int64" && vt === "int") return true;
  return false;
}

/** Go string length in bytes (len of a string). */
export function byteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
        continue;
      }
      n += 2;
    } else n += 2;
  }
  return n;
}
