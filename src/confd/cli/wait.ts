// consul-template's wait syntax "min:max" (or "min", meaning max = 4 x min),
// with Go durations. Surrounding spaces are tolerated, as confd always did.

import { mustParseDuration } from "../../golib/duration.js";

export interface Wait {
  minMs: number;
  maxMs: number;
}

/** "100ms:1s" -> {100, 1000}; "2s" -> {2000, 8000}; "" or "0" -> none. */
export function parseWait(text: string): Wait | undefined {
  const s = text.trim();
  if (s === "" || s === "0" || s === "0:0") return undefined;
  const [minText, maxText, extra] = s.split(":");
  if (extra !== undefined)
    throw new Error(`invalid wait ${JSON.stringify(text)}: expected min:max`);
  const minMs = mustParseDuration(minText.trim());
  const maxMs = maxText === undefined ? minMs * 4 : mustParseDuration(maxText.trim());
  if (minMs < 0 || maxMs < 0)
    throw new Error(`invalid wait ${JSON.stringify(text)}: negative duration`);
  if (maxMs < minMs) throw new Error(`invalid wait ${JSON.stringify(text)}: max must be >= min`);
  return { minMs, maxMs };
}
