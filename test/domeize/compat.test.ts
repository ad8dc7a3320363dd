// Issue 14's template-function cases through domeize's function map, against
// Go 1.19 running the original functions (test/fixtures/funcs/oracle.go:
// sprig's wrappers, xstrings' camelcase, shopspring/decimal's arithmetic,
// dockerize's add and atoi, written with the standard library).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { templateFuncs } from "../../src/domeize/funcs/index.js";
import { GoTime } from "../../src/golib/time.js";
import { Template } from "../../src/gotemplate/index.js";
import { ROOT } from "./helpers.js";

interface Case {
  template: string;
  out?: string;
  err?: string;
}

/** Cases that differ on purpose; each has its row in docs/compatibility.md. */
const DOCUMENTED: Record<string, string> = {
  '{{ with parseUrl "mailto:joe@example.com" }}{{ .Opaque }}|{{ .RequestURI }}|{{ .IsAbs }}|{{ .User }}{{ end }}':
    "no typed nil pointers in the value model: an absent .User prints <no value>, not Go's empty String()",
};

/**
 * jsonQuery's extension (docs/compatibility.md): where dockerize answers an
 * error for a path without `\\.`, the path split on plain dots is tried.
 * Only these cases may turn Go's error into a value, and only into this one.
 */
const JSONQUERY_EXTENSION: Record<string, string> = {
  '{{ jsonQuery "{\\"services\\":[{\\"port\\":1},{\\"port\\":8080}]}" "services.[1].port" }}':
    "8080",
  '{{ jsonQuery "{\\"a.b\\":{\\"c\\":1},\\"a\\":{\\"b\\":{\\"c\\":2}}}" "a.b.c" }}': "2",
  '{{ jsonQuery "{\\"a\\":{\\"\\":{\\"b\\":3}}}" "a..b" }}': "3",
  '{{ jsonQuery "{\\"a\\":{\\"b\\":[true]}}" "a.b.[0]" }}': "true",
  '{{ jsonQuery "{\\"a\\":{\\"b\\":{\\"c\\":1}}}" "a.b" }}': "map[c:1]",
};

function run(text: string): { out?: string; err?: string } {
  try {
    const data = { T: new GoTime(1_700_000_000_000, true) };
    return { out: new Template("t", { funcs: templateFuncs() }).parse(text).execute(data) };
  } catch (e) {
    return { err: (e as Error).message };
  }
}

test("domeize's functions answer as the originals on Go 1.19 (regex, camelcase, decimal float math, int64 wraparound, path, atoi, slice, jsonQuery, dateModify)", () => {
  const cases = JSON.parse(
    readFileSync(`${ROOT}/test/fixtures/funcs/cases.json`, "utf8"),
  ) as Case[];
  assert.ok(cases.length > 40);
  const bad: string[] = [];
  for (const c of cases) {
    if (DOCUMENTED[c.template] !== undefined) continue;
    const got = run(c.template);
    const extended = JSONQUERY_EXTENSION[c.template];
    if (extended !== undefined) assert.ok(c.err, `Go answers ${c.template}: not an extension case`);
    const want =
      extended !== undefined
        ? { out: extended }
        : c.err === undefined
          ? { out: c.out ?? "" }
          : { err: c.err };
    try {
      assert.deepEqual(got, want);
    } catch {
      bad.push(`${c.template}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
  }
  assert.equal(bad.length, 0, bad.join("\n"));
});

test("jsonQuery extension: a plain dotted path dockerize cannot resolve is tried as nested", () => {
  const json = JSON.stringify({ services: [{ port: 1 }, { port: 8080 }] });
  const q = (path: string) => run(`{{ jsonQuery ${JSON.stringify(json)} "${path}" }}`);
  assert.equal(q("services.[1].port").out, "8080");
  const both = JSON.stringify({ "a.b": "literal", a: { b: "nested" } });
  assert.equal(run(`{{ jsonQuery ${JSON.stringify(both)} "a.b" }}`).out, "literal");
  // Neither reading resolves: the original's error.
  assert.match(
    q("services.[5].port").err ?? "",
    /with services\.\[5\]\.port: services\.\[5\]\.port does not exist\.$/,
  );
});
