// dockerize v0.13's own template functions, with its exact semantics (see
// the reference: default treats "" as set, contains tests map keys, ...).

import { statSync } from "node:fs";
import { atoi } from "../../golib/strconv.js";
import { replace, split, toLower, toUpper } from "../../golib/strings.js";
import { parseUrl } from "../../golib/url.js";
import { FuncError, type FuncMap, goFunc, mapGet, typedList } from "../../gotemplate/value.js";
import { jsonQuery } from "./jsonquery.js";

const isNil = (v: unknown) => v === null || v === undefined;

function defaultValue(...args: unknown[]): string {
  if (args.length === 0) throw new FuncError("default called with no values!");
  if (!isNil(args[0]) && typeof args[0] === "string") return args[0];
  if (args.length > 1) {
    if (isNil(args[1])) throw new FuncError("default called with nil default value!");
    if (typeof args[1] !== "string") {
      throw new FuncError("default is not a string value. hint: surround it w/ double quotes.");
    }
    return args[1];
  }
  throw new FuncError("default called with no default value");
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    throw new FuncError(`unable to stat ${path}: ${(err as Error).message}`);
  }
}

function isTrue(s: string): boolean {
  const l = s.toLowerCase();
  if (["true", "1", "yes", "on"].includes(l)) return true;
  if (["false", "0", "no", "off"].includes(l)) return false;
  return ["1", "t", "T", "TRUE", "true", "True"].includes(s);
}

function loop(...args: number[]): bigint[] {
  let start = 0;
  let stop = 0;
  let step = 1;
  if (args.length === 1) stop = args[0];
  else if (args.length === 2) [start, stop] = args;
  else if (args.length === 3) [start, stop, step] = args;
  else throw new FuncError(`wrong number of arguments, expected 1-3, but got ${args.length}`);
  if (step <= 0) throw new FuncError("loop step must be positive (dockerize would loop forever)");
  const out: bigint[] = [];
  for (let i = start; i < stop; i += step) out.push(BigInt(i));
  return typedList("[]int", out);
}

export function dockerizeFuncs(): FuncMap {
  return {
    default: goFunc([], defaultValue as never, { variadic: "any" }),
    contains: goFunc(
      ["map[string]string", "string"],
      ((m: object, key: string) => !isNil(m) && mapGet(m, key) !== undefined) as never,
    ),
    exists: goFunc(["string"], exists as never, { result: "bool" }),
    split: goFunc(["string", "string"], ((s: string, sep: string) =>
      typedList("[]string", split(s, sep))) as never),
    replace: goFunc(["string", "string", "string", "int"], replace as never, { result: "string" }),
    // dockerize exits (log.Fatalf) on a bad URL; here it is a template error with the same text.
    parseUrl: goFunc(["string"], ((s: string) => {
      try {
        return parseUrl(s);
      } catch (err) {
        throw new FuncError(`unable to parse url ${s}: ${(err as Error).message}`, { cause: err });
      }
    }) as never),
    atoi: goFunc(["string"], atoi as never),
    // func add(x, y int) int: Go's int wraps around at 64 bits.
    add: goFunc(["int", "int"], ((a: bigint, b: bigint) => BigInt.asIntN(64, a + b)) as never, {
      bigInts: true,
    }),
    isTrue: goFunc(["string"], isTrue as never, { result: "bool" }),
    lower: goFunc(["string"], toLower as never, { result: "string" }),
    upper: goFunc(["string"], toUpper as never, { result: "string" }),
    jsonQuery: goFunc(["string", "string"], jsonQuery as never),
    loop: goFunc([], loop as never, { variadic: "int" }),
  };
}
