// Go's builtin functions (text/template/funcs.go builtins()), as FuncEntries
// with Go's signatures so exec checks arity and argument types like Go.

import { htmlEscaper, jsEscaper, urlQueryEscaper } from "../escape.js";
import type { FuncEntry } from "../exec/func-entry.js";
import { REFLECT } from "../exec/values.js";
import { sprint, sprintf, sprintln } from "../fmt/index.js";
import { eq, ge, gt, le, lt, ne } from "./compare.js";
import { index, slice } from "./index-slice.js";
import { call, len, not } from "./misc.js";

function entry(
  name: string,
  params: string[],
  variadic: string | null,
  fn: (args: unknown[]) => unknown,
): FuncEntry {
  return { name, params, variadic, builtin: true, call: fn };
}

const unreachable = (): never => {
  throw new Error("and/or are evaluated by exec");
};

export const BUILTINS: ReadonlyMap<string, FuncEntry> = new Map(
  [
    entry("and", [REFLECT], REFLECT, unreachable),
    entry("or", [REFLECT], REFLECT, unreachable),
    entry("call", [REFLECT], REFLECT, call),
    entry("html", [], "any", htmlEscaper),
    entry("index", [REFLECT], REFLECT, index),
    entry("slice", [REFLECT], REFLECT, slice),
    entry("js", [], "any", jsEscaper),
    entry("len", [REFLECT], null, len),
    entry("not", [REFLECT], null, not),
    entry("print", [], "any", sprint),
    entry("printf", ["string"], "any", (a) => sprintf(a[0] as string, a.slice(1))),
    entry("println", [], "any", sprintln),
    entry("urlquery", [], "any", urlQueryEscaper),
    entry("eq", [REFLECT], REFLECT, eq),
    entry("ge", [REFLECT, REFLECT], null, ge),
    entry("gt", [REFLECT, REFLECT], null, gt),
    entry("le", [REFLECT, REFLECT], null, le),
    entry("lt", [REFLECT, REFLECT], null, lt),
    entry("ne", [REFLECT, REFLECT], null, ne),
  ].map((e) => [e.name, e]),
);
