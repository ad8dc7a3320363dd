// The oracle's stand-in "dockerize" and "confd" function sets, ported with
// the same Go signatures (see test/fixtures/gotmpl/oracle/main.go). Benchmark use only.

import { base as pathBase, dir as pathDir, match as pathMatch } from "../src/golib/path.js";
import { atoi } from "../src/golib/strconv.js";
import {
  replace as goReplace,
  split as goSplit,
  toLower,
  toUpper,
  trimSuffix,
} from "../src/golib/strings.js";
import {
  FuncError,
  type FuncMap,
  GoStruct,
  goFunc,
  typedList,
  typedMap,
} from "../src/gotemplate/index.js";

export function dockerizeStandIn(): FuncMap {
  return {
    default: goFunc(["any", "any"], ((value: unknown, def: unknown) =>
      value === null || value === "" ? def : value) as never),
    contains: goFunc(
      ["map[string]interface {}", "string"],
      ((m: Record<string, unknown>, key: string) => m !== null && Object.hasOwn(m, key)) as never,
    ),
    split: goFunc(["string", "string"], ((s: string, sep: string) =>
      typedList("[]string", goSplit(s, sep))) as never),
    replace: goFunc(["string", "string", "string", "int"], goReplace as never),
    atoi: goFunc(["string"], ((s: string) => atoi(s)) as never),
    add: goFunc(["int", "int"], ((a: number, b: number) => BigInt(a) + BigInt(b)) as never),
    lower: goFunc(["string"], ((s: string) => toLower(s)) as never),
    upper: goFunc(["string"], ((s: string) => toUpper(s)) as never),
    isTrue: goFunc(["string"], ((s: string) =>
      ["1", "t", "true", "yes", "on"].includes(s.toLowerCase())) as never),
  };
}

class KVPair extends GoStruct {
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {
    super();
  }
  get goType(): string {
    return "main.KVPair";
  }
}

function children(store: Map<string, string>, dir: string, dirsOnly: boolean): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const seen = new Set<string>();
  for (const k of store.keys()) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    const i = rest.indexOf("/");
    const seg = i >= 0 ? rest.slice(0, i) : rest;
    if (seg === "" || (dirsOnly && i < 0)) continue;
    seen.add(seg);
  }
  return [...seen].sort();
}

export function confdStandIn(data: unknown): { funcs: FuncMap; data: unknown } {
  const store = new Map<string, string>();
  let rest = data;
  if (
    data !== null &&
    typeof data === "object" &&
    !Array.isArray(data) &&
    Object.hasOwn(data, "__kv")
  ) {
    const kv = (data as Record<string, unknown>).__kv as Record<string, string> | null;
    for (const [k, v] of Object.entries(kv ?? {})) store.set(k, v);
    rest = Object.fromEntries(Object.entries(data).filter(([k]) => k !== "__kv"));
  }
  const keys = [...store.keys()].sort();
  const S = ["string"] as const;
  const funcs: FuncMap = {
    getv: goFunc(
      ["string"],
      ((key: string, ...def: string[]) => {
        const v = store.get(key);
        if (v !== undefined) return v;
        if (def.length > 0) return def[0];
        throw new FuncError(`key does not exist: ${key}`);
      }) as never,
      { variadic: "string" },
    ),
    gets: goFunc(S, ((p: string) =>
      typedList(
        "[]main.KVPair",
        keys.filter((k) => pathMatch(p, k)).map((k) => new KVPair(k, store.get(k) as string)),
      )) as never),
    getvs: goFunc(S, ((p: string) =>
      typedList(
        "[]string",
        keys
          .filter((k) => pathMatch(p, k))
          .map((k) => store.get(k) as string)
          .sort(),
      )) as never),
    ls: goFunc(S, ((d: string) => typedList("[]string", children(store, d, false))) as never),
    lsdir: goFunc(S, ((d: string) => typedList("[]string", children(store, d, true))) as never),
    exists: goFunc(S, ((k: string) => store.has(k)) as never),
    json: goFunc(S, ((s: string) => {
      try {
        return JSON.parse(s);
      } catch (e) {
        throw new FuncError((e as Error).message);
      }
    }) as never),
    jsonArray: goFunc(S, ((s: string) => JSON.parse(s)) as never),
    base: goFunc(S, ((p: string) => pathBase(p)) as never),
    dir: goFunc(S, ((p: string) => pathDir(p)) as never),
    split: goFunc(["string", "string"], ((s: string, sep: string) =>
      typedList("[]string", goSplit(s, sep))) as never),
    join: goFunc(["[]string", "string"], ((a: string[], sep: string) => a.join(sep)) as never),
    toUpper: goFunc(S, ((s: string) => toUpper(s)) as never),
    toLower: goFunc(S, ((s: string) => toLower(s)) as never),
    contains: goFunc(["string", "string"], ((s: string, sub: string) => s.includes(sub)) as never),
    replace: goFunc(["string", "string", "string", "int"], goReplace as never),
    trimSuffix: goFunc(["string", "string"], trimSuffix as never),
    atoi: goFunc(S, ((s: string) => atoi(s)) as never),
    add: goFunc(["int", "int"], ((a: number, b: number) => BigInt(a + b)) as never),
    sub: goFunc(["int", "int"], ((a: number, b: number) => BigInt(a - b)) as never),
    mul: goFunc(["int", "int"], ((a: number, b: number) => BigInt(a * b)) as never),
    div: goFunc(["int", "int"], ((a: number, b: number) => {
      if (b === 0) throw new FuncError("integer divide by zero");
      return BigInt(Math.trunc(a / b));
    }) as never),
    mod: goFunc(["int", "int"], ((a: number, b: number) => {
      if (b === 0) throw new FuncError("integer divide by zero");
      return BigInt(a % b);
    }) as never),
    seq: goFunc(["int", "int"], ((a: number, b: number) => {
      const out: bigint[] = [];
      for (let i = a; i <= b; i++) out.push(BigInt(i));
      return typedList("[]int", out);
    }) as never),
  };
  void typedMap;
  return { funcs, data: rest };
}
