// Go's fmt for the template engine: Sprint, Sprintln, Sprintf, the default
// printing of a value ({{.x}}) and %T type names. See printer.ts for the port.

import { GoUint8 } from "../value.js";
import { compiledFormat, runAllFast, runCompiled } from "./compiled-format.js";
import { formatFloatV } from "./float.js";
import { freePrinter, getPrinter } from "./print.js";
import { doPrintf } from "./printf.js";

export { isPrint } from "../../golib/isprint.js";
export { canBackquote, quote, quoteRune, quoteToASCII } from "../../golib/quote.js";
export { formatFloat, formatFloatV } from "./float.js";
export { goTypeName } from "./types.js";

/** fmt.Sprint: operands in their default format, spaces between operands when neither is a string. */
export function sprint(args: readonly unknown[]): string {
  if (args.length === 1) return printValue(args[0]);
  const p = getPrinter();
  p.doPrint(args);
  return freePrinter(p);
}

/** fmt.Sprintln: spaces always between operands, and a trailing newline. */
export function sprintln(args: readonly unknown[]): string {
  const p = getPrinter();
  p.doPrintln(args);
  return freePrinter(p);
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  const cf = compiledFormat(format);
  if (cf !== null) {
    const fast = runAllFast(cf, args);
    if (fast !== undefined) return fast;
  }
  const p = getPrinter();
  if (cf !== null) runCompiled(p, cf, args);
  else doPrintf(p, format, args);
  return freePrinter(p);
}

/** fmt.Sprintf through Go's step-by-step format parser (no compiled-format cache). */
export function sprintfUncompiled(format: string, args: readonly unknown[]): string {
  const p = getPrinter();
  doPrintf(p, format, args);
  return freePrinter(p);
}

/** fmt.Fprint of one value: what {{.x}} prints. Scalars take a fast path. */
export function printValue(v: unknown): string {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatFloatV(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (v === null || v === undefined) return "<nil>";
  if (v instanceof GoUint8) return v.value.toString();
  const p = getPrinter();
  p.printArg(v, "v");
  return freePrinter(p);
}
