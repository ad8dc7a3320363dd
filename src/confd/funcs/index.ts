// confd's complete template function library (kelseyhightower/confd
// resource/template/template_funcs.go plus memkv's key functions), as one
// FuncMap bound to a resource's KeySpace.

import type { FuncMap } from "../../gotemplate/value.js";
import { type KeySpace, keySpaceFromObject } from "../template/key-space.js";
import { JsonCache, jsonFuncs } from "./json-funcs.js";
import { listFuncs } from "./list-funcs.js";
import { mathFuncs } from "./math-funcs.js";
import { storeFuncs } from "./store-funcs.js";
import { stringFuncs } from "./string-funcs.js";
import { type SystemOptions, systemFuncs } from "./system-funcs.js";
import { newTrace, type RenderTrace } from "./trace.js";

export { JsonCache } from "./json-funcs.js";
export { KVPair } from "./kv-pair.js";
export type { Resolver, SrvRecord, SystemOptions } from "./system-funcs.js";
export type { RenderTrace } from "./trace.js";

export interface ConfdFuncSet {
  funcs: FuncMap;
  /** What the last render looked at (to name the key behind an error). */
  trace: RenderTrace;
  /** Decoded-JSON cache (kept current by the key space; `sweep()` bounds foreign values). */
  json: JsonCache;
}

export function confdFuncs(ks: KeySpace, opts: SystemOptions = {}): ConfdFuncSet {
  const trace = newTrace();
  const json = new JsonCache();
  ks.onEvict(
    (old) => json.evict(old),
    (values) => json.retain(values),
  );
  const funcs: FuncMap = {
    ...storeFuncs(ks, trace, () => json.keep),
    ...jsonFuncs(json, trace),
    ...stringFuncs(),
    ...mathFuncs(),
    ...listFuncs(),
    ...systemFuncs(opts),
  };
  return { funcs, trace, json };
}

/**
 * For `tools/gotmpl-cases` with `funcs: "confd"` (as the Go oracle does): the
 * key-value store comes from the case data's `__kv` object (key -> string),
 * and the template gets the data without `__kv`.
 */
export function confdCaseFuncs(data: unknown): { funcs: FuncMap; data: unknown } {
  if (
    data === null ||
    typeof data !== "object" ||
    Array.isArray(data) ||
    !Object.hasOwn(data, "__kv")
  ) {
    return { funcs: confdFuncs(keySpaceFromObject({})).funcs, data };
  }
  const { __kv: raw, ...rest } = data as Record<string, unknown>;
  const kv: Record<string, string> = {};
  if (raw !== null) {
    if (typeof raw !== "object" || Array.isArray(raw))
      throw new Error("__kv must be an object of key -> string value");
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== "string")
        throw new Error(`__kv value for ${JSON.stringify(k)} is not a string`);
      kv[k] = v;
    }
  }
  return { funcs: confdFuncs(keySpaceFromObject(kv)).funcs, data: rest };
}
