// Conformance adapter for test/fixtures/gotmpl/compare.mjs (format in its README):
// a JSON case array on stdin, the result array on stdout. With `--bench N`
// each case is parsed once, executed once to warm up, then N times, and
// {name, nsPerOp, bytes, error} is printed, like the oracle's -bench.

import { readFileSync } from "node:fs";
import { ExecError, ParseError, Template } from "../src/gotemplate/index.js";
import { functionSet } from "./gotmpl-funcsets.js";

interface Case {
  name: string;
  templateName?: string;
  template?: string;
  data?: unknown;
  delims?: [string, string];
  options?: string[];
  funcs?: string;
}

interface Result {
  name: string;
  output: string | null;
  error: string | null;
  errorKind: "parse" | "exec" | "harness" | null;
}

/**
 * JSON numbers are float64 in Go, which JS numbers are (JSON.parse keeps -0).
 * Go's decoder turns a lone UTF-16 surrogate escape into U+FFFD; so do we.
 */
function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === "string"
      ? (value as string & { toWellFormed(): string }).toWellFormed()
      : value,
  );
}

function fail(name: string, kind: Result["errorKind"], msg: string): Result {
  return { name, output: null, error: msg, errorKind: kind };
}

/** Builds the template of a case: name, delims, options, function set, parse. */
function prepare(c: Case): { t: Template; data: unknown } {
  let data: unknown = c.data === undefined ? null : c.data;
  const t = new Template(c.templateName ?? c.name);
  if (c.delims) t.delims(c.delims[0], c.delims[1]);
  for (const opt of c.options ?? []) t.option(opt);
  const set = functionSet(c.funcs ?? "", data);
  if (set.funcs) t.funcs(set.funcs);
  data = set.data;
  t.parse(c.template ?? "");
  return { t, data };
}

function runCase(c: Case): Result {
  if (typeof c.template !== "string")
    return fail(c.name, "harness", 'case has no "template" string');
  try {
    const { t, data } = prepare(c);
    return { name: c.name, output: t.execute(data), error: null, errorKind: null };
  } catch (e) {
    if (e instanceof ParseError) return fail(c.name, "parse", e.message);
    if (e instanceof ExecError) return fail(c.name, "exec", e.message);
    return fail(
      c.name,
      "harness",
      `unexpected ${(e as Error)?.name}: ${(e as Error)?.message ?? e}`,
    );
  }
}

function bench(cases: Case[], n: number): unknown[] {
  return cases.map((c) => {
    const r: { name: string; nsPerOp: number; bytes: number; error: string | null } = {
      name: c.name,
      nsPerOp: 0,
      bytes: 0,
      error: null,
    };
    try {
      const { t, data } = prepare(c);
      r.bytes = Buffer.byteLength(t.execute(data), "utf8");
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) t.execute(data);
      r.nsPerOp = Number(process.hrtime.bigint() - start) / n;
    } catch (e) {
      r.error = (e as Error).message;
    }
    return r;
  });
}

function main(): void {
  const args = process.argv.slice(2);
  let benchN = 0;
  let file: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--bench" || args[i] === "-bench") benchN = Number(args[++i]);
    else file = args[i] as string;
  }
  const text = readFileSync(file && file !== "-" ? file : 0, "utf8");
  const cases = parseJson(text) as Case[];
  const out = benchN > 0 ? bench(cases, benchN) : cases.map(runCase);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main();
