// The memo functions a range-memo plan (range-memo.ts) calls: each keeps the
// output of its range body per pair and re-executes the body only for a pair
// it has not seen. The whole-range form also remembers the
// last `gets` result and its joined output: when every pair is the same
// object as last time (the common case for the other ranges of a template
// after a change elsewhere), the join is reused as is.

import type { Template } from "../../gotemplate/index.js";
import { type FuncMap, goFunc } from "../../gotemplate/value.js";
import { KVPair } from "../funcs/index.js";

export class RangeMemoCache {
  /**
   * Body output per pair object. A KVPair is immutable and `gets` hands out
   * the same object while a key keeps its value, so identity is the cache
   * key: no Key/Value reads (accessors) and no pruning, since an entry goes
   * when its pair is garbage.
   */
  private byPair = new WeakMap<object, string>();
  private lastPairs: readonly unknown[] = [];
  private lastOut = "";

  constructor(private readonly body: Template) {}

  /** Output of the body for one pair (executes it only for a pair not seen before). */
  iteration(pair: unknown): string {
    if (!(pair instanceof KVPair)) throw new Error("range memo: not a KVPair");
    let out = this.byPair.get(pair);
    if (out === undefined) {
      out = this.body.execute(pair);
      this.byPair.set(pair, out);
    }
    return out;
  }

  /** Output of the whole range over `pairs` (what `range` would print). */
  whole(pairs: readonly unknown[]): string {
    if (samePairs(pairs, this.lastPairs)) return this.lastOut;
    const parts: string[] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) parts[i] = this.iteration(pairs[i]);
    this.lastPairs = pairs;
    this.lastOut = parts.join("");
    return this.lastOut;
  }

  /** After a failed render: start over. */
  clear(): void {
    this.byPair = new WeakMap();
    this.lastPairs = [];
    this.lastOut = "";
  }
}

function samePairs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The memo function of one range: `{{name .}}` per iteration, or `{{name PATTERN}}` for the whole range. */
export function memoFunc(cache: RangeMemoCache, whole: boolean, funcs: FuncMap): FuncMap[string] {
  if (!whole) return goFunc(["any"], (pair: unknown) => cache.iteration(pair));
  const gets = funcs.gets.fn as (pattern: string) => readonly unknown[];
  return goFunc(["string"], (pattern: string) => cache.whole(gets(pattern)));
}
