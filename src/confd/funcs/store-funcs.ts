// confd's key-value functions (kelseyhightower/memkv): get getv gets getvs
// exists ls lsdir, over the resource's KeySpace.

import { base, clean, compileMatch, dir, literalPrefix } from "../../golib/path.js";
import { searchStrings } from "../../golib/sort.js";
import {
  compareBytes,
  FuncError,
  type FuncMap,
  goFunc,
  typedList,
} from "../../gotemplate/value.js";
import type { KeySpace } from "../template/key-space.js";
import { KVPair, kvPairs } from "./kv-pair.js";
import type { RenderTrace } from "./trace.js";

/**
 * @param tracked whether pairs must tell `trace` when their Value is read
 *   (json's per-pair decode cache needs it; without that cache, plain pairs
 *   are cheaper to make). Either kind gives the same results.
 */
export function storeFuncs(
  ks: KeySpace,
  trace: RenderTrace,
  tracked: () => boolean = () => true,
): FuncMap {
  const pairCache = new Map<string, { value: string; pair: KVPair }>();
  const pairOf = (key: string, value: string): KVPair => {
    const hit = pairCache.get(key);
    if (hit && hit.value === value) return hit.pair;
    const pair = new KVPair(key, value, tracked() ? trace : undefined);
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
  const getsCache = new Map<string, GetsResult>();
  const patch = (hit: GetsResult, changed: readonly string[], re: RegExp): void => {
    for (const key of new Set(changed)) {
      if (!re.test(key)) continue;
      const i = searchStrings(hit.keys, key);
      const present = hit.keys[i] === key;
      const e = ks.get(key);
      if (e && present) hit.pairs[i] = pairOf(key, e.value);
      else if (e) {
        hit.keys.splice(i, 0, key);
        hit.pairs.splice(i, 0, pairOf(key, e.value));
      } else if (present) {
        hit.keys.splice(i, 1);
        hit.pairs.splice(i, 1);
      }
    }
    hit.version = ks.version;
  };
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
    // Results are kept per pattern and patched with the keys changed since:
    // after one pod change, `gets` over 10,000 pods costs a copy, not a scan.
    gets: goFunc(["string"], (pattern: string) => {
      if (pairCache.size > ks.size * 2 + 64) pairCache.clear();
      let hit = getsCache.get(pattern);
      if (hit && hit.version !== ks.version) {
        const changed = ks.changesSince(hit.version);
        if (changed && changed.length <= 1024) patch(hit, changed, compileMatch(pattern));
        else hit = undefined;
      }
      if (!hit) {
        const keys = matching(pattern);
        hit = {
          version: ks.version,
          keys,
          pairs: keys.map((k) => pairOf(k, ks.get(k)?.value ?? "")),
        };
        if (getsCache.size >= 64) getsCache.clear();
        getsCache.set(pattern, hit);
      }
      // A copy: reverse and sortKVByLength work in place.
      return kvPairs(hit.pairs.slice());
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

interface GetsResult {
  version: number;
  keys: string[];
  pairs: KVPair[];
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
