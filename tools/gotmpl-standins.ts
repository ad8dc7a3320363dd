// The oracle's stand-in "dockerize" and "confd" function sets, ported with
// the same Go signatures (see test/fixtures/gotmpl/oracle/main.go). Benchmark use only.

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
    replace: goFunc(["string", "string", "string", "int"], ((
      s: string,
      o: string,
      n: string,
      k: number,
    ) => goReplace(s, o, n, k)) as never),
    atoi: goFunc(["string"], ((s: string) => atoi(s)) as never),
    add: goFunc(["int", "int"], ((a: number, b: number) => BigInt(a) + BigInt(b)) as never),
    lower: goFunc(["string"], ((s: string) => goCase(s, false)) as never),
    upper: goFunc(["string"], ((s: string) => goCase(s, true)) as never),
    isTrue: goFunc(["string"], ((s: string) =>
      ["1", "t", "true", "yes", "on"].includes(s.toLowerCase())) as never),
  };
}

/** strings.ToUpper/ToLower: rune by rune, so "ß" stays "ß" (JS would give "SS"). */
function goCase(s: string, upper: boolean): string {
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/** path.Clean of Go, enough for Base/Dir. */
function pathClean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
    } else out.push(seg);
  }
  const joined = out.join("/");
  return rooted ? `/${joined}` : joined || ".";
}

function pathBase(p: string): string {
  if (p === "") return ".";
  const t = p.replace(/\/+$/, "");
  if (t === "") return "/";
  return t.slice(t.lastIndexOf("/") + 1);
}

function pathDir(p: string): string {
  const i = p.lastIndexOf("/");
  return pathClean(p.slice(0, i + 1));
}

function goSplit(s: string, sep: string): string[] {
  if (sep === "") return Array.from(s);
  return s.split(sep);
}

function goReplace(s: string, old: string, neu: string, n: number): string {
  if (n < 0) return s.split(old).join(neu);
  let out = s;
  let from = 0;
  for (let i = 0; i < n; i++) {
    const k = out.indexOf(old, from);
    if (k < 0) break;
    out = out.slice(0, k) + neu + out.slice(k + old.length);
    from = k + neu.length;
  }
  return out;
}

function atoi(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s))
    throw new FuncError(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return BigInt(s);
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

/** Go's path.Match restricted to what the stand-in needs: '*', '?', literal bytes. */
function pathMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")}$`,
  );
  return re.test(name);
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
    toUpper: goFunc(S, ((s: string) => goCase(s, true)) as never),
    toLower: goFunc(S, ((s: string) => goCase(s, false)) as never),
    contains: goFunc(["string", "string"], ((s: string, sub: string) => s.includes(sub)) as never),
    replace: goFunc(["string", "string", "string", "int"], ((
      s: string,
      o: string,
      n: string,
      k: number,
    ) => goReplace(s, o, n, k)) as never),
    trimSuffix: goFunc(["string", "string"], ((s: string, suf: string) =>
      suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s) as never),
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
