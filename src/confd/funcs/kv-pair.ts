// memkv.KVPair, the element type of confd's `gets` (a Go struct with the
// exported fields Key and Value, printed by %v as {Key Value}).
//
// `Value` is an accessor that remembers the pair it was read from: the
// DomeOS template reads `json .Value` for every pod on every render, and
// `json` uses that to find the pair's already decoded object with one
// identity check instead of hashing a 4 KB string.

import { GoStruct, typedList } from "../../gotemplate/value.js";

/** Which pair's Value was read last (per function set). */
export interface PairTracker {
  pair?: KVPair;
}

export class KVPair extends GoStruct {
  declare readonly Key: string;
  declare readonly Value: string;
  /** The value's decoded JSON (json/jsonArray), kept with the pair. */
  declare decoded: unknown;

  constructor(key: string, value: string, tracker?: PairTracker) {
    super();
    // Own enumerable properties in Go field order (Key, Value): the engine's
    // field access and %v printing see an ordinary struct.
    if (tracker === undefined) {
      // No tracking: plain data properties, one hidden class for every pair
      // (three defineProperty calls cost ~2.5 us a pair, 10,000 per render).
      const self = this as { Key: string; Value: string };
      self.Key = key;
      self.Value = value;
      return;
    }
    Object.defineProperty(this, "Key", { value: key, enumerable: true });
    Object.defineProperty(this, "Value", {
      enumerable: true,
      get: () => {
        tracker.pair = this;
        return value;
      },
    });
    Object.defineProperty(this, "decoded", { enumerable: false, writable: true, value: undefined });
  }

  get goType(): string {
    return "memkv.KVPair";
  }
}

/** The Go type of `gets`' result (a named slice type in memkv). */
export const KVPAIRS_TYPE = "memkv.KVPairs";

export function kvPairs(items: KVPair[]): KVPair[] {
  return typedList(KVPAIRS_TYPE, items);
}
