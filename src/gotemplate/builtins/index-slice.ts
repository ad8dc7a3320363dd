// index and slice: Go's indexing of slices, strings (bytes) and maps, with
// Go's error texts ("index out of range: 5", "can't index item of type bool").

import { byteLength, isMap, typeName, zeroOf } from "../exec/values.js";
import { mapElemType } from "../fmt/types.js";
import { FuncError, GO_TYPE, GoUint8, integerValue } from "../value.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 decoding as Go's JSON/printing sees a byte string: each invalid byte becomes one U+FFFD. */
function decodeBytes(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const n =
      c < 0x80
        ? 1
        : c >= 0xc2 && c < 0xe0
          ? 2
          : c >= 0xe0 && c < 0xf0
            ? 3
            : c >= 0xf0 && c < 0xf5
              ? 4
              : 0;
    let ok = n > 0 && i + n <= b.length;
    for (let k = 1; ok && k < n; k++) ok = ((b[i + k] as number) & 0xc0) === 0x80;
    if (ok && n === 3) {
      const c1 = b[i + 1] as number;
      ok = !(c === 0xe0 && c1 < 0xa0) && !(c === 0xed && c1 >= 0xa0);
    }
    if (ok && n === 4) {
      const c1 = b[i + 1] as number;
      ok = !(c === 0xf0 && c1 < 0x90) && !(c === 0xf4 && c1 >= 0x90);
    }
    if (!ok) {
      out += "\ufffd";
      i++;
      continue;
    }
    out += decoder.decode(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Go's indexArg: an integer index in [0, cap]. */
function indexArg(index: unknown, cap: number): number {
  // any integer type indexes (a byte from `index "s" 0` too)
  const v = index === null ? undefined : integerValue(index);
  if (v === undefined) throw new FuncError("cannot index slice/array with nil");
  if (typeof v !== "bigint")
    throw new FuncError(`cannot index slice/array with type ${typeName(v)}`);
  if (v < 0n || v > BigInt(cap)) throw new FuncError(`index out of range: ${v}`);
  return Number(v);
}

function tagOf(v: object): string | undefined {
  return (v as { [GO_TYPE]?: string })[GO_TYPE];
}

/** Go's prepareArg for a map key of type string. */
function mapKey(index: unknown): string {
  if (index === undefined) throw new FuncError("value is nil; should be of type string");
  if (typeof index !== "string")
    throw new FuncError(`value has type ${typeName(index)}; should be string`);
  return index;
}

export function index(args: unknown[]): unknown {
  let item: unknown = args[0] === null ? undefined : args[0];
  if (item === undefined) throw new FuncError("index of untyped nil");
  for (let i = 1; i < args.length; i++) {
    const idx = args[i] === null ? undefined : args[i];
    if (item === null || item === undefined) throw new FuncError("index of nil pointer");
    if (Array.isArray(item)) {
      const x = indexArg(idx, item.length);
      if (x === item.length) throw new FuncError("reflect: slice index out of range");
      const v: unknown = item[x];
      item = v === undefined ? null : v;
    } else if (typeof item === "string") {
      const bytes = encoder.encode(item);
      const x = indexArg(idx, bytes.length);
      if (x === bytes.length) throw new FuncError("reflect: string index out of range");
      item = GoUint8.of(bytes[x] as number);
    } else if (isMap(item)) {
      const key = mapKey(idx);
      const tag = tagOf(item);
      if (Object.hasOwn(item, key) && item[key] !== undefined) item = item[key];
      else item = tag === undefined ? null : zeroOf(mapElemType(tag));
    } else {
      throw new FuncError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

export function slice(args: unknown[]): unknown {
  const item = args[0] === null ? undefined : args[0];
  if (item === undefined) throw new FuncError("slice of untyped nil");
  const n = args.length - 1;
  if (n > 3) throw new FuncError(`too many slice indexes: ${n}`);
  let cap: number;
  if (typeof item === "string") {
    if (n === 3) throw new FuncError("cannot 3-index slice a string");
    cap = byteLength(item);
  } else if (Array.isArray(item)) {
    cap = item.length;
  } else {
    throw new FuncError(`can't slice item of type ${typeName(item)}`);
  }
  const idx = [0, typeof item === "string" ? cap : item.length, 0];
  for (let i = 0; i < n; i++) idx[i] = indexArg(args[i + 1], cap);
  const [i0, i1, i2] = idx as [number, number, number];
  if (i0 > i1) throw new FuncError(`invalid slice index: ${i0} > ${i1}`);
  if (n === 3 && i1 > i2) throw new FuncError(`invalid slice index: ${i1} > ${i2}`);
  if (typeof item === "string") {
    if (i0 === 0 && i1 === cap) return item;
    return decodeBytes(encoder.encode(item).subarray(i0, i1));
  }
  const out = item.slice(i0, i1);
  const tag = tagOf(item);
  if (tag !== undefined) Object.defineProperty(out, GO_TYPE, { value: tag, enumerable: false });
  return out;
}
