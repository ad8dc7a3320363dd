// Go's sort.SearchStrings over byte-ordered (Go string order) keys.

import { compareBytes } from "../gotemplate/value.js";

/** The first index whose key is >= k (keys.length when none is). */
export function searchStrings(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid] as string, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
