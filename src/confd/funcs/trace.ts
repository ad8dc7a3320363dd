// What the template was looking at when a render failed: the last key read
// with get/getv and the last value decoded with json/jsonArray. Used to name
// the key (pod) that broke a render instead of a bare template error.

import type { PairTracker } from "./kv-pair.js";

export interface RenderTrace extends PairTracker {
  key?: string;
  jsonInput?: string;
}

export function newTrace(): RenderTrace {
  return {};
}
