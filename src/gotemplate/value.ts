// The data model: how Go values are represented in JavaScript.
//
// Every part of the engine (exec, builtins, fmt) and every function library
// (domeize's, confd's) agrees on this mapping, so it lives in one file.
//
//   Go                         JavaScript
//   -------------------------  ------------------------------------------------
//   nil (interface)            null
//   (missing / invalid)        undefined  (a missing map key, an unset variable)
//   bool                       boolean
//   string                     string
//   float64                    number      (every JSON number is a float64)
//   int (and other integers)   bigint      (constants like {{1}}, len, range $i)
//   uint8 (a byte)             GoUint8     (only `index` of a string makes one)
//   []interface{}              Array       (untagged JS array)
//   map[string]interface{}     plain object, read ONLY through own properties
//                              (Object.hasOwn), so "__proto__" and
//                              "constructor" are ordinary keys
//   []string, map[string]string, ... (typed host values)
//                              Array / plain object tagged with GO_TYPE
//   struct (e.g. confd KVPair) instance of a class extending GoStruct
//   func                       GoFunc (see below) or a plain JS function
//
// Integers are bigint so that `eq .n 1` (float64 vs int) can be an error as in
// Go, and `%d` of a float64 prints `%!d(float64=1)`.

/** Tags an Array or plain object with its Go type name, e.g. "[]string". */
export const GO_TYPE: unique symbol = Symbol.for("domeos.gotemplate.type");

/** A Go type name as printed by %T: "int", "float64", "[]string", "map[string]string", ... */
export type GoTypeName = string;

export type GoMap = { [key: string]: unknown; [GO_TYPE]?: GoTypeName };
export type GoList = unknown[] & { [GO_TYPE]?: GoTypeName };

/**
 * Base class of host structs (records with exported fields).
 * Exported fields: own enumerable properties whose name starts with an
 * upper-case letter, in declaration order (that is the print order of %v).
 * Methods: functions on the prototype whose name starts with an upper-case
 * letter; a method may declare its Go signature in `static goMethods`.
 */
export abstract class GoStruct {
  /** Go type name as printed by %T, e.g. "main.KVPair". */
  abstract get goType(): GoTypeName;
}

/** Tag a JS array as a typed Go slice, e.g. typedList("[]string", ["a"]). */
export function typedList<T>(goType: GoTypeName, items: T[]): T[] & { [GO_TYPE]: GoTypeName } {
  Object.defineProperty(items, GO_TYPE, { value: goType, enumerable: false });
  return items as T[] & { [GO_TYPE]: GoTypeName };
}

/** Tag a plain object as a typed Go map, e.g. typedMap("map[string]string", {...}). */
export function typedMap<T extends object>(goType: GoTypeName, obj: T): T {
  Object.defineProperty(obj, GO_TYPE, { value: goType, enumerable: false });
  return obj;
}

/**
 * Parameter and result types a function declares, for Go-like argument
 * checking. "any" is interface{}: anything goes, passed through unchanged.
 * "int" accepts only Go integers (bigint); the JS function receives a JS
 * number (range-checked). "float64" accepts only float64 (number). Typed
 * slices/maps ("[]string", "map[string]interface {}", ...) accept values of
 * exactly that Go type (untagged arrays are "[]interface {}", untagged
 * objects "map[string]interface {}").
 */
export type GoParamType = "any" | "int" | "int64" | "float64" | "string" | "bool" | GoTypeName;

/**
 * A function callable from templates, with its Go signature.
 * - `fn` returns the value; to return a Go error (the `(value, error)` form,
 *   which aborts execution) it throws a `FuncError`.
 * - `result` "int" turns a returned JS number into a Go int (bigint);
 *   "float64" keeps a number; omitted means "any" (returned as is: bigint stays
 *   int, number stays float64).
 */
export interface GoFunc {
  readonly params: readonly GoParamType[];
  /** Type of the trailing variadic parameter, if any (`...string`). */
  readonly variadic?: GoParamType;
  readonly result?: GoParamType;
  /** Integer parameters arrive as bigint (Go's whole int64 range) instead of JS numbers. */
  readonly bigInts?: boolean;
  readonly fn: (...args: never[]) => unknown;
}

export type FuncMap = Record<string, GoFunc>;

/** Thrown by a GoFunc to return a Go error; exec reports it as
 *  `error calling NAME: MESSAGE` at the call's position. */
export class FuncError extends Error {
  override name = "FuncError";
}

/** Shorthand to declare a GoFunc. */
export function goFunc(
  params: readonly GoParamType[],
  fn: (...args: never[]) => unknown,
  opts: { variadic?: GoParamType; result?: GoParamType; bigInts?: boolean } = {},
): GoFunc {
  return { params, fn, ...opts };
}

/** Read a map key the Go way: own properties only. */
export function mapGet(m: object, key: string): unknown {
  return Object.hasOwn(m, key) ? (m as Record<string, unknown>)[key] : undefined;
}

/** Sorted keys of a Go map (Go's fmt and range order for string keys: byte-wise). */
export function sortedKeys(m: object): string[] {
  return Object.keys(m).sort(compareBytes);
}

/** Byte-wise (UTF-8) comparison of two strings, as Go's `<` on strings. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code-unit order equals UTF-8 byte order except around surrogates.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      // A surrogate encodes a supplementary code point: above every BMP one in UTF-8.
      if (xs !== ys) return xs ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

/**
 * Go uint8: what `index` of a string yields (a byte). Go's text/template keeps
 * its type, so `printf "%T"` says uint8, `%#v` prints 0x61, a bad verb prints
 * `%!s(uint8=97)`, `eq`/`lt` compare its value with any integer (Go 1.18's
 * signed/unsigned rule), and functions taking `int` refuse it. The common
 * integer stays a bare bigint: only code that meets an object pays for this.
 */
const BYTES: GoUint8[] = [];
export class GoUint8 {
  private constructor(readonly value: bigint) {}

  /** The byte b (0..255); one shared immutable instance per value, so indexing allocates nothing. */
  static of(b: number): GoUint8 {
    return BYTES[b] as GoUint8;
  }

  static {
    for (let b = 0; b < 256; b++) BYTES.push(new GoUint8(BigInt(b)));
  }
}

/** The integer value of a Go integer of any type (bigint or GoUint8); anything else unchanged. */
export function integerValue(v: unknown): unknown {
  return v instanceof GoUint8 ? v.value : v;
}

/**
 * Go complex128 (only template constants such as `1+2i` produce one).
 * fmt prints it as `(1+2i)`; %T is "complex128".
 */
export class GoComplex {
  constructor(
    readonly re: number,
    readonly im: number,
  ) {}
}
