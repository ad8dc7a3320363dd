// Function sets selectable by a case's "funcs" field. "none"/"" is Go's
// builtins only; "dockerize" and "confd" are the small stand-in sets of the
// oracle (test/fixtures/gotmpl/oracle/main.go), so benchmarks compare like with like.
// They are NOT the real libraries (see src/domeize and src/confd for those),
// except "confd", which uses src/confd's library ("confd-standin" keeps the stand-in).

import { confdCaseFuncs } from "../src/confd/funcs/index.js";
import type { FuncMap } from "../src/gotemplate/index.js";
import { confdStandIn, dockerizeStandIn } from "./gotmpl-standins.js";

export interface FunctionSet {
  funcs: FuncMap | null;
  data: unknown;
}

export function functionSet(name: string, data: unknown): FunctionSet {
  switch (name) {
    case "":
    case "none":
      return { funcs: null, data };
    case "dockerize":
      return { funcs: dockerizeStandIn(), data };
    case "confd":
      // The real confd library (store from the data's __kv), as the issue asks.
      return confdCaseFuncs(data);
    case "confd-standin":
      return confdStandIn(data);
    default:
      throw new Error(`unknown function set ${JSON.stringify(name)}`);
  }
}
