// Go type names of template values, as %T and the %!verb(TYPE=value) error forms print them.
import { GO_TYPE, GoComplex, GoStruct, GoUint8 } from "../value.js";

export const IFACE = "interface {}";
export const SLICE_IFACE = "[]interface {}";
export const MAP_IFACE = "map[string]interface {}";

/** Go's reflect.TypeOf(v).String() for a template value; "<nil>" for nil. */
export function goTypeName(v: unknown): string {
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
    case "function":
      return "func()";
    case "undefined":
      return "<nil>";
  }
  if (v === null) return "<nil>";
  if (v instanceof GoStruct) return v.goType;
  if (v instanceof GoComplex) return "complex128";
  if (v instanceof GoUint8) return "uint8";
  const tagged = (v as { [GO_TYPE]?: string })[GO_TYPE];
  if (tagged !== undefined) return tagged;
  return Array.isArray(v) ? SLICE_IFACE : MAP_IFACE;
}

/** Element type of a slice type name ("[]string" -> "string"). */
export function sliceElemType(t: string): string {
  return t.startsWith("[]") ? t.slice(2) : IFACE;
}

/** Value type of a map type name ("map[string]int" -> "int"), bracket-aware. */
export function mapElemType(t: string): string {
  if (!t.startsWith("map[")) return IFACE;
  let depth = 0;
  for (let i = 3; i < t.length; i++) {
    const c = t[i];
    if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return t.slice(i + 1);
  }
  return IFACE;
}

/** Key type of a map type name ("map[int]string" -> "int"); "string" when unknown. */
export function mapKeyType(t: string): string {
  if (!t.startsWith("map[")) return "string";
  let depth = 0;
  for (let i = 3; i < t.length; i++) {
    const c = t[i];
    if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return t.slice(4, i);
  }
  return "string";
}

/** True when a container element of this static type is an interface (prints nil as <nil>). */
export function isInterfaceType(t: string): boolean {
  return t === IFACE || t === "any" || t.startsWith("interface");
}
