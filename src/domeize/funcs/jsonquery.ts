// dockerize's jsonQuery JSON PATH with the parser it pins: jwilder/gojq
// c550732 splits the query with elgs/gosplitargs cbd889c on the two
// characters `\.` (quotes group and are dropped), so `services\.[1]\.port`
// is the nested path and `a.b` is the literal key "a.b"; `[N]` indexes an
// array (a negative N panics in gojq: the bare runtime error, not wrapped by
// dockerize). Errors are gojq's, wrapped as dockerize wraps them.
//
// Our extension, only where the original finds nothing: a path without any
// `\.` is split on plain dots by the same parser (`services.[1].port`, as
// dockerize's README documents it) before the original's error is reported.
// Every answer the original gives is kept; test/domeize/compat.test.ts
// checks this against Go.

import { goJsonSyntaxError } from "../../golib/json-error.js";
import { atoi } from "../../golib/strconv.js";
import { FuncError } from "../../gotemplate/value.js";

/** gojq's separator. */
const SEPARATOR = "\\.";
/** The extension's separator. */
const DOT = ".";

/** A Go runtime panic inside gojq: it escapes dockerize's error wrapping. */
class GoPanic extends FuncError {}

/** gosplitargs.SplitArgs(input, separator, false) as of cbd889c (a non-blank separator). */
export function splitQuery(input: string, separator: string = SEPARATOR): string[] {
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
      if (ch === separator[matched]) {
        matched++;
        if (matched === separator.length) {
          out.push(buf.slice(0, buf.length - separator.length + 1));
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
      // gojq indexes the slice: Go panics, text/template reports the bare panic
      if (index < 0) throw new GoPanic(`runtime error: index out of range [${index}]`);
      ctx = ctx[index];
    } else {
      if (!isObject(ctx)) throw new Error(`${path} is not an object. map[]`);
      if (!Object.hasOwn(ctx, path)) throw new Error(`${path} does not exist.`);
      ctx = ctx[path];
    }
  }
  return ctx;
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
    if (err instanceof GoPanic) throw err;
    if (path.includes(DOT) && !path.includes(SEPARATOR)) {
      try {
        return query(data, splitQuery(path, DOT));
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
