// Go's flag.PrintDefaults layout ("Usage of prog:" then each flag, sorted).

import { quote as goQuote } from "../golib/quote.js";
import type { FlagKind, FlagSpec } from "./flags.js";

const TYPE_NAME: Record<FlagKind, string> = {
  bool: "",
  int: "int",
  string: "string",
  duration: "duration",
  list: "value",
};

/** flag.UnquoteUsage: a `quoted` word in the usage names the value and loses its quotes. */
function unquoteUsage(spec: FlagSpec): [string, string] {
  const m = /`([^`]*)`/.exec(spec.usage);
  if (m === null) return [TYPE_NAME[spec.kind], spec.usage];
  return [m[1], spec.usage.replace(m[0], m[1])];
}

function defaultsLine(spec: FlagSpec): string {
  const [name, usage] = unquoteUsage(spec);
  let head = `  -${spec.name}`;
  if (name !== "") head += ` ${name}`;
  // Go puts the usage of a short flag without a type name on the same line.
  head += head.length <= 4 ? "\t" : "\n    \t";
  const dflt = spec.defaultText;
  const shown =
    dflt === undefined || dflt === ""
      ? ""
      : ` (default ${spec.kind === "string" ? goQuote(dflt) : dflt})`;
  return head + usage.replaceAll("\n", "\n    \t") + shown;
}

/** "Usage of <program>:" and every flag in Go's PrintDefaults format, ending in a newline. */
export function usage(program: string, specs: readonly FlagSpec[]): string {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${[`Usage of ${program}:`, ...sorted.map(defaultsLine)].join("\n")}\n`;
}
