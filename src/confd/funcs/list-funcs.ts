// confd's list helpers: reverse, sortByLength, sortKVByLength, map.
//
// Difference from confd (deliberate): `reverse` also reverses the result of
// `gets` (confd's type switch misses the named type memkv.KVPairs, so there
// it silently does nothing). Sorting by length is stable here; confd's
// sort.Sort is stable only up to 12 elements.

import {
  FuncError,
  type FuncMap,
  GO_TYPE,
  type GoList,
  goFunc,
  typedMap,
} from "../../gotemplate/value.js";
import { KVPAIRS_TYPE, type KVPair } from "./kv-pair.js";

const goTypeOf = (v: unknown): string | undefined =>
  Array.isArray(v) ? ((v as GoList)[GO_TYPE] ?? "[]interface {}") : undefined;

const REVERSIBLE = new Set(["[]string", "[]memkv.KVPair", KVPAIRS_TYPE]);

function isKVList(v: unknown): v is KVPair[] {
  const t = goTypeOf(v);
  return t === KVPAIRS_TYPE || t === "[]memkv.KVPair";
}

export function listFuncs(): FuncMap {
  return {
    // In place, like confd; other values are returned unchanged.
    reverse: goFunc(["any"], (v: unknown) => {
      const t = goTypeOf(v);
      if (t !== undefined && REVERSIBLE.has(t)) (v as unknown[]).reverse();
      return v;
    }),
    sortByLength: goFunc(["[]string"], (items: string[]) =>
      items.sort((a, b) => utf8Len(a) - utf8Len(b)),
    ),
    sortKVByLength: goFunc(["any"], (items: unknown) => {
      if (!isKVList(items)) {
        throw new FuncError(
          `wrong type for value; expected []memkv.KVPair; got ${goTypeOf(items) ?? typeof items}`,
        );
      }
      return items.sort((a, b) => utf8Len(a.Key) - utf8Len(b.Key));
    }),
    map: goFunc(
      [],
      (...args: unknown[]) => {
        if (args.length % 2 !== 0) throw new FuncError("invalid map call");
        const out: Record<string, unknown> = {};
        for (let i = 0; i < args.length; i += 2) {
          const k = args[i];
          if (typeof k !== "string") throw new FuncError("map keys must be strings");
          Object.defineProperty(out, k, {
            value: args[i + 1],
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return typedMap("map[string]interface {}", out);
      },
      { variadic: "any" },
    ),
  };
}

/** Go's len(string) counts UTF-8 bytes. */
function utf8Len(s: string): number {
  return /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, "utf8");
}
