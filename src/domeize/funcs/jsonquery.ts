// dockerize's jsonQuery JSON PATH with the parser it pins: jwilder/gojq
// c550732 splits the query with elgs/gosplitargs cbd889c on the two
// characters `\.` (quotes group and are dropped), so `services\.[1]\.port`
// is the nested path and `a.b` is the literal key "a.b"; `[N]` indexes an
// array. Errors are gojq's, wrapped as dockerize wraps them. Our extension:
// when the original finds nothing, a plain dotted path (`services.[1].port`)
// is tried as nested before the original's error is reported.

import { goJsonSyntaxError } from "../../golib/json-error.js";
import { atoi } from "../../golib/strconv.js";
import { FuncError } from "../../gotemplate/value.js";

const SEPARATOR = "\\.";

/** gosplitargs.SplitArgs(input, `\.`, false) as of cbd889c. */
export function splitQuery(input: string): string[] {
  let single = false;
  let double = false;
  let matched = 0;
  let buf = "";
  const out: string[] = [];
  for (const ch of input) {
    if (ch === "\n") {
      buf += ch;
      continue;
    }
    if (ch === "'" && !double) {
      single = !single;
      continue;
    }
    if (ch === '"' && !single) {
      double = !double;
      continue;
    }
    if (!single && !double) {
      if (ch === SEPARATOR[matched]) {
        matched++;
        if (matched === SEPARATOR.length) {
          out.push(buf.slice(0, buf.length - SEPARATOR.length + 1));
          buf = "";
          matched = 0;
        } else buf += ch;
        continue;
      }
      matched = 0;
    }
    buf += ch;
  }
  out.push(buf);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** gojq's Query over decoded JSON, one path element at a time. */
function query(data: unknown, paths: string[]): unknown {
  let ctx = data;
  for (const path of paths) {
    if (Buffer.byteLength(path) >= 3 && path.startsWith("[") && path.endsWith("]")) {
      const index = Number(atoi(path.slice(1, -1)));
      if (!Array.isArray(ctx)) throw new Error(`${path} is not an array. []`);
      if (ctx.length <= index) throw new Error(`${path} index out of range.`);
      if (index < 0) throw new Error(`runtime error: index out of range [${index}]`);
      ctx = ctx[index];
    } else {
      if (!isObject(ctx)) throw new Error(`${path} is not an object. map[]`);
      if (!Object.hasOwn(ctx, path)) throw new Error(`${path} does not exist.`);
      ctx = ctx[path];
    }
  }
  return ctx;
}

/** Our extension's path: "." separates, `\.` is a literal dot. */
function dottedPaths(path: string): string[] {
  return path.split(/(?<!\\)\./).map((p) => p.replaceAll("\\.", "."));
}

export function jsonQuery(json: string, path: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new FuncError(`unable to parse JSON object ${json}: ${goJsonSyntaxError(json)}`);
  }
  if (path === ".") return data;
  try {
    return query(data, splitQuery(path));
  } catch (err) {
    if (path.includes(".")) {
      try {
        return query(data, dottedPaths(path));
      } catch {
        // the original's error is the one to report
      }
    }
    throw new FuncError(
      `unable to query JSON object ${json} with ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
