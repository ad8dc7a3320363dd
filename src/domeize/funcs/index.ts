// The template function map: sprig's text functions, overridden by
// dockerize's own (dockerize merges them in that order).

import type { FuncMap } from "../../gotemplate/value.js";
import { dockerizeFuncs } from "./dockerize.js";
import { sprigFuncs } from "./sprig.js";

export function templateFuncs(): FuncMap {
  return { ...sprigFuncs(), ...dockerizeFuncs() };
}
