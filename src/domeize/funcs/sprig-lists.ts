// sprig v3 list and dict functions. The non-"must" variants panic in Go on
// bad input, which a template reports as an error: here both return a Go
// error (FuncError) with sprig's message.

import {
  FuncError,
  type FuncMap,
  GO_TYPE,
  goFunc,
  mapGet,
  typedList,
} from "../../gotemplate/value.js";
import { asList, isEmpty, isMap, isNil, kindOf, strings, strslice, strval } from "./convert.js";

const ANY = "any";
const I = "int";
const S = "string";

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length && ka.every((k) => deepEqual(mapGet(a, k), mapGet(b as object, k)))
  );
}

export function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = deepCopy(v[k]);
    return out;
  }
  return v;
}

function dict(...kv: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < kv.length; i += 2) out[strval(kv[i])] = i + 1 < kv.length ? kv[i + 1] : "";
  return out;
}

function mergeInto(
  dst: Record<string, unknown>,
  src: Record<string, unknown>,
  overwrite: boolean,
): void {
  for (const k of Object.keys(src)) {
    const d = mapGet(dst, k);
    const s = src[k];
    if (isMap(d) && isMap(s)) mergeInto(d, s, overwrite);
    else if (
      d === undefined ||
      (overwrite && !isEmpty(s)) ||
      (!overwrite && isEmpty(d) && !isMap(d))
    ) {
      dst[k] = s;
    }
  }
}

function dig(...args: unknown[]): unknown {
  if (args.length < 3) throw new FuncError("dig needs at least three arguments");
  const dictArg = args[args.length - 1];
  const dflt = args[args.length - 2];
  let cur: unknown = dictArg;
  for (const k of args.slice(0, -2)) {
    if (!isMap(cur)) return dflt;
    const next = mapGet(cur, strval(k));
    if (next === undefined) return dflt;
    cur = next;
  }
  return cur;
}

/** sprig's mustSlice: lists only (a string is refused as in sprig), an empty list gives nil. */
function slice(v: unknown, ...idx: bigint[]): unknown[] | null {
  if (!Array.isArray(v)) {
    if (isNil(v)) return null;
    throw new FuncError(`list should be type of slice or array but ${kindOf(v)}`);
  }
  if (v.length === 0) return null;
  const start = idx.length > 0 ? Number(idx[0]) : 0;
  const end = idx.length > 1 ? Number(idx[1]) : v.length;
  if (start < 0 || end > v.length || start > end) {
    throw new FuncError("reflect.Value.Slice: slice index out of range");
  }
  const tag = (v as { [GO_TYPE]?: string })[GO_TYPE];
  return tag === undefined ? v.slice(start, end) : typedList(tag, v.slice(start, end));
}

function listFns(): FuncMap {
  const f = goFunc;
  const first = (v: unknown) => asList(v, "first")[0] ?? null;
  const last = (v: unknown) => {
    const l = asList(v, "last");
    return l.length === 0 ? null : l[l.length - 1];
  };
  const rest = (v: unknown) => asList(v, "rest").slice(1);
  const initial = (v: unknown) => asList(v, "initial").slice(0, -1);
  const reverse = (v: unknown) => [...asList(v, "reverse")].reverse();
  const uniq = (v: unknown) => {
    const out: unknown[] = [];
    for (const x of asList(v, "uniq")) if (!out.some((y) => deepEqual(x, y))) out.push(x);
    return out;
  };
  const without = (v: unknown, ...omit: unknown[]) =>
    asList(v, "without").filter((x) => !omit.some((o) => deepEqual(x, o)));
  const has = (needle: unknown, hay: unknown) =>
    asList(hay, "has").some((x) => deepEqual(x, needle));
  const append = (v: unknown, x: unknown) => [...asList(v, "append"), x];
  const prepend = (v: unknown, x: unknown) => [x, ...asList(v, "prepend")];
  const compact = (v: unknown) => asList(v, "compact").filter((x) => !isEmpty(x));
  const chunk = (size: number, v: unknown) => {
    const l = asList(v, "chunk");
    const out: unknown[][] = [];
    for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
    return out;
  };
  const both = (
    name: string,
    fn: (...a: never[]) => unknown,
    params: string[],
    variadic?: string,
  ) => ({
    [name]: f(params, fn as never, variadic ? { variadic } : {}),
    [`must${name[0].toUpperCase()}${name.slice(1)}`]: f(
      params,
      fn as never,
      variadic ? { variadic } : {},
    ),
  });
  return {
    list: f([], ((...xs: unknown[]) => xs) as never, { variadic: ANY }),
    tuple: f([], ((...xs: unknown[]) => xs) as never, { variadic: ANY }),
    ...both("first", first as never, [ANY]),
    ...both("last", last as never, [ANY]),
    ...both("rest", rest as never, [ANY]),
    ...both("initial", initial as never, [ANY]),
    ...both("reverse", reverse as never, [ANY]),
    ...both("uniq", uniq as never, [ANY]),
    ...both("without", without as never, [ANY], ANY),
    ...both("has", has as never, [ANY, ANY]),
    ...both("append", append as never, [ANY, ANY]),
    ...both("push", append as never, [ANY, ANY]),
    ...both("prepend", prepend as never, [ANY, ANY]),
    ...both("compact", compact as never, [ANY]),
    ...both("chunk", chunk as never, [I, ANY]),
    ...both("slice", slice as never, [ANY], "int64"),
    concat: f([], ((...ls: unknown[]) => ls.flatMap((l) => asList(l, "concat"))) as never, {
      variadic: ANY,
    }),
    sortAlpha: f([ANY], ((v: unknown) => strings(strslice(v).sort())) as never),
    join: f([S, ANY], ((sep: string, v: unknown) => strslice(v).join(sep)) as never),
    toStrings: f([ANY], ((v: unknown) => strings(strslice(v))) as never),
    seq: f([], seq as never, { variadic: I }),
    until: f([I], ((n: number) => untilStep(0, n, n < 0 ? -1 : 1)) as never),
    untilStep: f([I, I, I], untilStep as never),
  };
}

function untilStep(start: number, stop: number, step: number): bigint[] {
  const out: bigint[] = [];
  if (step === 0 || (stop < start && step > 0) || (stop > start && step < 0))
    return typedList("[]int", out);
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(BigInt(i));
  return typedList("[]int", out);
}

function seq(...p: number[]): string {
  let [start, step, end] = [1, 1, 0];
  if (p.length === 1) end = p[0];
  else if (p.length === 2) [start, end] = p;
  else if (p.length === 3) [start, step, end] = p;
  else return "";
  if (p.length < 3 && end < start) step = -1;
  const out: number[] = [];
  if (step === 0 || (step > 0 && start > end) || (step < 0 && start < end)) return "";
  for (let i = start; step > 0 ? i <= end : i >= end; i += step) out.push(i);
  return out.join(" ");
}

function dictFns(): FuncMap {
  const f = goFunc;
  const m = (v: unknown, fn: string): Record<string, unknown> => {
    if (isMap(v)) return v;
    throw new FuncError(`${fn}: expected a dict, got ${isNil(v) ? "nil" : typeof v}`);
  };
  const merge =
    (overwrite: boolean) =>
    (dst: unknown, ...srcs: unknown[]) => {
      const d = m(dst, "merge");
      for (const s of srcs) mergeInto(d, m(s, "merge"), overwrite);
      return d;
    };
  return {
    dict: f([], dict as never, { variadic: ANY }),
    get: f([ANY, S], ((d: unknown, k: string) => mapGet(m(d, "get"), k) ?? "") as never),
    set: f([ANY, S, ANY], ((d: unknown, k: string, v: unknown) => {
      m(d, "set")[k] = v;
      return d;
    }) as never),
    unset: f([ANY, S], ((d: unknown, k: string) => {
      delete m(d, "unset")[k];
      return d;
    }) as never),
    hasKey: f(
      [ANY, S],
      ((d: unknown, k: string) => mapGet(m(d, "hasKey"), k) !== undefined) as never,
    ),
    pluck: f(
      [S],
      ((k: string, ...ds: unknown[]) =>
        ds
          .filter(isMap)
          .filter((d) => Object.hasOwn(d, k))
          .map((d) => d[k])) as never,
      { variadic: ANY },
    ),
    keys: f(
      [],
      ((...ds: unknown[]) => strings(ds.flatMap((d) => Object.keys(m(d, "keys"))))) as never,
      {
        variadic: ANY,
      },
    ),
    pick: f(
      [ANY],
      ((d: unknown, ...ks: string[]) => {
        const src = m(d, "pick");
        return Object.fromEntries(ks.filter((k) => Object.hasOwn(src, k)).map((k) => [k, src[k]]));
      }) as never,
      { variadic: S },
    ),
    omit: f(
      [ANY],
      ((d: unknown, ...ks: string[]) => {
        const src = m(d, "omit");
        return Object.fromEntries(
          Object.keys(src)
            .filter((k) => !ks.includes(k))
            .map((k) => [k, src[k]]),
        );
      }) as never,
      { variadic: S },
    ),
    values: f([ANY], ((d: unknown) => Object.values(m(d, "values"))) as never),
    merge: f([ANY], merge(false) as never, { variadic: ANY }),
    mustMerge: f([ANY], merge(false) as never, { variadic: ANY }),
    mergeOverwrite: f([ANY], merge(true) as never, { variadic: ANY }),
    mustMergeOverwrite: f([ANY], merge(true) as never, { variadic: ANY }),
    dig: f([], dig as never, { variadic: ANY }),
    deepEqual: f([ANY, ANY], deepEqual as never),
    deepCopy: f([ANY], deepCopy as never),
    mustDeepCopy: f([ANY], ((v: unknown) => {
      if (isNil(v)) throw new FuncError("copy: cannot copy nil");
      return deepCopy(v);
    }) as never),
  };
}

export function sprigLists(): FuncMap {
  return { ...listFns(), ...dictFns() };
}
