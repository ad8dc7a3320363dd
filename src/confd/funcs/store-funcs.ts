// confd's key-value functions (kelseyhightower/memkv): get getv gets getvs
// exists ls lsdir, over the resource's KeySpace.

import {
  compareBytes,
  FuncError,
  type FuncMap,
  goFunc,
  typedList,
} from "../../gotemplate/value.js";
import { base, clean, compileMatch, dir, literalPrefix } from "../template/go-path.js";
import type { KeySpace } from "../template/key-space.js";
import { KVPair, kvPairs } from "./kv-pair.js";
import type { RenderTrace } from "./trace.js";

export function storeFuncs(ks: KeySpace, trace: RenderTrace): FuncMap {
  const pairCache = new Map<string, { value: string; pair: KVPair }>();
  const pairOf = (key: string, value: string): KVPair => {
    const hit = pairCache.get(key);
    if (hit && hit.value === value) return hit.pair;
    const pair = new KVPair(key, value);
    pairCache.set(key, { value, pair });
    return pair;
  };
  const matching = (pattern: string): string[] => {
    let re: RegExp;
    try {
      re = compileMatch(pattern);
    } catch {
      throw new FuncError("syntax error in pattern");
    }
    return ks.keysWithPrefix(literalPrefix(pattern)).filter((k) => re.test(k));
  };
  const missing = (key: string) => new FuncError(`key does not exist: ${key}`);
  return {
    get: goFunc(["string"], (key: string) => {
      trace.key = key;
      const e = ks.get(key);
      if (!e) throw missing(key);
      return pairOf(key, e.value);
    }),
    getv: goFunc(
      ["string"],
      (key: string, ...def: string[]) => {
        trace.key = key;
        const e = ks.get(key);
        if (e) return e.value;
        if (def.length > 0) return def[0];
        throw missing(key);
      },
      { variadic: "string" },
    ),
    exists: goFunc(["string"], (key: string) => ks.get(key) !== undefined),
    gets: goFunc(["string"], (pattern: string) => {
      if (pairCache.size > ks.size * 2 + 64) pairCache.clear();
      return kvPairs(matching(pattern).map((k) => pairOf(k, ks.get(k)?.value ?? "")));
    }),
    // confd sorts getvs by value, not by key.
    getvs: goFunc(["string"], (pattern: string) =>
      typedList(
        "[]string",
        matching(pattern)
          .map((k) => ks.get(k)?.value ?? "")
          .sort(compareBytes),
      ),
    ),
    ls: goFunc(["string"], (p: string) => typedList("[]string", list(ks, p))),
    lsdir: goFunc(["string"], (p: string) => typedList("[]string", listDir(ks, p))),
  };
}

const terms = (p: string): string[] => clean(p).split("/");

function samePrefixTerms(prefix: string[], test: string[]): boolean {
  if (test.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== test[i]) return false;
  return true;
}

function stripKey(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return rest.startsWith("/") ? rest.slice(1) : rest;
}

/** memkv List: first segments below p; a key equal to p contributes its base name. */
function list(ks: KeySpace, p: string): string[] {
  const seen = new Set<string>();
  const prefix = terms(p);
  const candidates = ks.keysWithPrefix(clean(p) === "/" ? "/" : clean(p));
  for (const key of candidates) {
    if (key === p) {
      seen.add(base(key));
      continue;
    }
    if (samePrefixTerms(prefix, terms(dir(key)))) seen.add(stripKey(key, p).split("/")[0]);
  }
  return [...seen].sort(compareBytes);
}

/** memkv ListDir: children of p that have children themselves. */
function listDir(ks: KeySpace, p: string): string[] {
  const seen = new Set<string>();
  const prefix = terms(p);
  for (const key of ks.keysWithPrefix(p)) {
    const items = terms(dir(key));
    if (samePrefixTerms(prefix, items) && items.length - prefix.length >= 1)
      seen.add(items[prefix.length]);
  }
  return [...seen].sort(compareBytes);
}
