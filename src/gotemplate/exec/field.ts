// Go's evalField: .Name on a map (key), a host struct (method or exported
// field) or anything else (an error naming the receiver's type).

import { quote } from "../../golib/quote.js";
import { mapElemType } from "../fmt/types.js";
import { GO_TYPE, type GoFunc, GoStruct } from "../value.js";
import { MissingKey } from "./common.js";
import type { MethodCall } from "./compile.js";
import type { FuncEntry } from "./func-entry.js";
import type { State } from "./state.js";
import { isMap, typeName, zeroOf } from "./values.js";

function isExported(name: string): boolean {
  const c = name.charCodeAt(0);
  if (c >= 65 && c <= 90) return true;
  if (c < 128) return false;
  const ch = String.fromCodePoint(name.codePointAt(0) ?? 0);
  return ch.toUpperCase() === ch && ch.toLowerCase() !== ch;
}

/** Method signatures a GoStruct subclass may declare: `static goMethods = { Name: {params: [...]}}`. */
type MethodSigs = Record<string, Pick<GoFunc, "params" | "variadic" | "result">>;

const methodEntries = new WeakMap<object, Map<string, FuncEntry | null>>();

/** The method `name` of a host struct as a FuncEntry bound to the receiver, or null. */
function findMethod(recv: GoStruct, name: string): FuncEntry | null {
  if (!isExported(name) || Object.hasOwn(recv, name)) return null;
  const proto = Object.getPrototypeOf(recv) as object;
  let byName = methodEntries.get(proto);
  if (byName === undefined) {
    byName = new Map();
    methodEntries.set(proto, byName);
  }
  let sig = byName.get(name);
  if (sig === undefined) {
    const fn = (proto as Record<string, unknown>)[name];
    if (typeof fn !== "function") sig = null;
    else {
      const sigs = (proto.constructor as { goMethods?: MethodSigs }).goMethods;
      const decl = sigs && Object.hasOwn(sigs, name) ? sigs[name] : undefined;
      sig = {
        name,
        params: decl ? decl.params.slice() : [],
        variadic: decl ? (decl.variadic ?? null) : "any",
        builtin: false,
        call: () => undefined,
      };
    }
    byName.set(name, sig);
  }
  if (sig === null) return null;
  const method = (proto as Record<string, (...a: unknown[]) => unknown>)[name] as (
    ...a: unknown[]
  ) => unknown;
  const decl = sig;
  const result =
    (proto.constructor as { goMethods?: MethodSigs }).goMethods?.[name]?.result ?? undefined;
  return {
    ...decl,
    call: (args) => {
      const conv = args.map((a, i) => {
        const t = i < decl.params.length ? decl.params[i] : decl.variadic;
        return (t === "int" || t === "int64") && typeof a === "bigint" ? Number(a) : a;
      });
      const r = method.apply(recv, conv);
      if (r === undefined) return null;
      if ((result === "int" || result === "int64") && typeof r === "number") return BigInt(r);
      return r;
    },
  };
}

/**
 * Evaluates `.name` on `recv`. `recvIface`: the receiver is an interface{}
 * element (only error texts differ). `call` invokes a method with the
 * command's arguments when this is the last field of the chain.
 */
export function evalField(
  s: State,
  name: string,
  recv: unknown,
  recvIface: boolean,
  hasArgs: boolean,
  call: MethodCall | null,
  dot: unknown,
  vars: unknown[],
  final: unknown,
): unknown {
  if (recv === undefined) {
    if (s.common.missingKey === MissingKey.Error)
      s.errorf(`nil data; no entry for key ${quote(name)}`);
    return undefined;
  }
  if (recv === null) s.errorf(`nil pointer evaluating interface {}.${name}`);
  const typ = recvIface ? "interface {}" : typeName(recv);
  if (recv instanceof GoStruct) {
    const method = findMethod(recv, name);
    if (method !== null) {
      if (call === null) return methodWithoutArgs(s, method, name);
      return call(s, dot, vars, final, method);
    }
    if (Object.hasOwn(recv, name)) {
      if (!isExported(name)) s.errorf(`${name} is an unexported field of struct type ${typ}`);
      if (hasArgs) s.errorf(`${name} has arguments but cannot be invoked as function`);
      const v = (recv as unknown as Record<string, unknown>)[name];
      return v === undefined ? null : v;
    }
  } else if (isMap(recv)) {
    if (hasArgs) s.errorf(`${name} is not a method but has arguments`);
    if (Object.hasOwn(recv, name) && recv[name] !== undefined) return recv[name];
    switch (s.common.missingKey) {
      case MissingKey.Zero: {
        const tag = (recv as { [GO_TYPE]?: string })[GO_TYPE];
        return tag === undefined ? null : zeroOf(mapElemType(tag));
      }
      case MissingKey.Error:
        s.errorf(`map has no entry for key ${quote(name)}`);
    }
    return undefined;
  }
  return s.errorf(`can't evaluate field ${name} in type ${typ}`);
}

/** A method in the middle of a chain: called without arguments. */
function methodWithoutArgs(s: State, method: FuncEntry, name: string): unknown {
  if (method.params.length > 0)
    s.errorf(`wrong number of args for ${name}: want ${method.params.length} got 0`);
  try {
    return method.call([]);
  } catch (e) {
    return s.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
