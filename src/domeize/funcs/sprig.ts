// sprig v3.3.0's TxtFuncMap, as far as this project implements it (see
// docs/domeize.md for the functions left out and why).

import type { FuncMap } from "../../gotemplate/value.js";
import { sprigDates } from "./sprig-dates.js";
import { sprigLists } from "./sprig-lists.js";
import { sprigMath } from "./sprig-math.js";
import { sprigMisc } from "./sprig-misc.js";
import { sprigRegex } from "./sprig-regex.js";
import { sprigStrings } from "./sprig-strings.js";

export function sprigFuncs(): FuncMap {
  return {
    ...sprigStrings(),
    ...sprigDates(),
    ...sprigLists(),
    ...sprigMath(),
    ...sprigMisc(),
    ...sprigRegex(),
  };
}
