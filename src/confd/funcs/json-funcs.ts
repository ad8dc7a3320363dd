// confd's json / jsonArray: decode a value into map[string]interface{} /
// []interface{} (numbers are float64, as Go's encoding/json decodes them).
//
// Decoding is the expensive part of the DomeOS template (one JSON pod per
// key, every render). Templates cannot modify what they decode, so results
// are cached by input text: an unchanged pod is decoded once, not on every
// render. The key space tells the cache when a value leaves it (a pod
// changed or was deleted), so the cache holds only current values.

import { goJsonSyntaxError } from "../../golib/json-error.js";
import { FuncError, type FuncMap, goFunc } from "../../gotemplate/value.js";
import type { RenderTrace } from "./trace.js";

export class JsonCache {
  private readonly cache = new Map<string, unknown>();
  /** False: decode, use, drop (the renderer memoizes above this level). */
  keep = true;

  decode(text: string): unknown {
    if (!this.keep) return parseGo(text);
    let v = this.cache.get(text);
    if (v === undefined) {
      v = parseGo(text);
      this.cache.set(text, v);
    }
    return v;
  }

  clear(): void {
    this.cache.clear();
  }

  /** A value left the key space (changed or deleted key): forget its decode. */
  evict(text: string): void {
    this.cache.delete(text);
  }

  /** After a rebuild: keep only decodes of values still present. */
  retain(values: () => Set<string>): void {
    if (this.cache.size === 0) return;
    const keep = values();
    for (const k of this.cache.keys()) if (!keep.has(k)) this.cache.delete(k);
  }

  /** Bound for values that never passed through the key space (tools, literals). */
  sweep(limit = 100_000): void {
    if (this.cache.size > limit) this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }
}

/** Parses like Go's json.Unmarshal into interface{}; throws FuncError with Go's message. */
function parseGo(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FuncError(goJsonSyntaxError(text));
  }
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "bool";
  return "object";
}

export function jsonFuncs(cache: JsonCache, trace: RenderTrace): FuncMap {
  // `json .Value` inside `range gets`: the pair just read holds the decode.
  const decode = (text: string): unknown => {
    trace.jsonInput = text;
    const p = trace.pair;
    if (!cache.keep) return cache.decode(text);
    if (p !== undefined && p.Value === text) {
      if (p.decoded === undefined) p.decoded = cache.decode(text);
      return p.decoded;
    }
    return cache.decode(text);
  };
  return {
    json: goFunc(["string"], (text: string) => {
      const v = decode(text);
      if (v === null) return {};
      if (typeof v !== "object" || Array.isArray(v)) {
        throw new FuncError(
          `json: cannot unmarshal ${kindOf(v)} into Go value of type map[string]interface {}`,
        );
      }
      return v;
    }),
    jsonArray: goFunc(["string"], (text: string) => {
      const v = decode(text);
      if (v === null) return [];
      if (!Array.isArray(v)) {
        throw new FuncError(
          `json: cannot unmarshal ${kindOf(v)} into Go value of type []interface {}`,
        );
      }
      return v;
    }),
  };
}
