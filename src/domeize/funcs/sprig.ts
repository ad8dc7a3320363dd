import type { FuncMap } from "../../gotemplate/value.js";
export function sprigFuncs(): FuncMap {
  return {};
}
