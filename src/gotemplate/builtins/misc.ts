// len, not and call.

import {
  assignable,
  byteLength,
  canBeNil,
  isFunc,
  isMap,
  truth,
  typeName,
  zeroOf,
} from "../exec/values.js";
import { funcEntry } from "../funcs.js";
import { FuncError, type GoFunc } from "../value.js";

export function len(args: unknown[]): bigint {
  const item = args[0];
  if (item === null) throw new FuncError("len of nil pointer");
  if (item === undefined) throw new FuncError("reflect: call of reflect.Value.Type on zero Value");
  if (typeof item === "string") return BigInt(byteLength(item));
  if (Array.isArray(item)) return BigInt(item.length);
  if (isMap(item)) return BigInt(Object.keys(item).length);
  throw new FuncError(`len of type ${typeName(item)}`);
}

export function not(args: unknown[]): boolean {
  return !truth(args[0]);
}

/** call FN ARGS...: Go's call builtin (prepareArg checks, "arg N: ..." errors). */
export function call(args: unknown[]): unknown {
  const fn = args[0] === null ? undefined : args[0];
  if (fn === undefined) throw new FuncError("call of nil");
  if (!isFunc(fn)) throw new FuncError(`non-function of type ${typeName(fn)}`);
  const entry = funcEntry("call", fn as GoFunc);
  const rest = args.slice(1);
  const numIn = entry.params.length;
  if (entry.variadic !== null) {
    if (rest.length < numIn)
      throw new FuncError(`wrong number of args: got ${rest.length} want at least ${numIn}`);
  } else if (rest.length !== numIn) {
    throw new FuncError(`wrong number of args: got ${rest.length} want ${numIn}`);
  }
  const argv = rest.map((a, i) => {
    const t = i < numIn ? (entry.params[i] as string) : (entry.variadic as string);
    const v = a === null ? undefined : a;
    if (v === undefined) {
      if (!canBeNil(t))
        throw new FuncError(
          `arg ${i}: value is nil; should be of type ${t === "any" ? "interface {}" : t}`,
        );
      return zeroOf(t);
    }
    if (!assignable(typeName(v), t))
      throw new FuncError(`arg ${i}: value has type ${typeName(v)}; should be ${t}`);
    return v;
  });
  return entry.call(argv);
}
