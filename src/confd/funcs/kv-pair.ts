// memkv.KVPair, the element type of confd's `gets` (a Go struct with the
// exported fields Key and Value, printed by %v as {Key Value}).

import { GoStruct, typedList } from "../../gotemplate/value.js";

export class KVPair extends GoStruct {
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {
    super();
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
