// sprig text functions through the engine: one template exercising each
// group, against outputs checked by hand against sprig v3.3.0's semantics
// (argument order "pipeline last", int64 math, JSON with HTML escaping).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { templateFuncs } from "../../src/domeize/funcs/index.js";
import { funcsFor } from "../../src/domeize/render/templates.js";
import { Template, typedMap } from "../../src/gotemplate/index.js";
import { ROOT } from "./helpers.js";

function render(text: string, data: unknown = {}): string {
  return new Template("t", { funcs: templateFuncs() }).parse(text).execute(data);
}

test("sprig groups: strings, lists, dicts, math, logic, encodings, regex, paths, URLs", () => {
  const tmpl = readFileSync(`${ROOT}/test/domeize/fixtures/sprig.tmpl`, "utf8");
  const want = readFileSync(`${ROOT}/test/domeize/fixtures/sprig.out`, "utf8");
  assert.equal(render(tmpl), want);
});

test("dockerize's functions override sprig's of the same name", () => {
  const env = { Env: typedMap("map[string]string", { k: "v" }) };
  assert.equal(render('{{ contains .Env "k" }}', env), "true"); // sprig's is a substring test
  // dockerize's contains takes a map[string]string, exactly as in Go
  assert.throws(() => render('{{ contains (dict "k" "v") "k" }}'), /expected map\[string\]string/);
  assert.equal(render('{{ replace "aaa" "a" "b" 1 }}'), "baa");
  assert.equal(render('{{ split "a:b" ":" }}'), "[a b]");
});

test("errors: division by zero and fail are Go errors naming the function", () => {
  assert.throws(() => render("{{ div 1 0 }}"), /error calling div: .*divide by zero/);
  assert.throws(() => render('{{ fail "stop here" }}'), /stop here/);
  // sprig: regexMatch ignores the compile error; the others MustCompile (Go's panic text).
  assert.equal(render('{{ regexMatch "(" "x" }}'), "false");
  assert.throws(
    () => render('{{ regexFind "(" "x" }}'),
    /error calling regexFind: regexp: Compile\(`\(`\): error parsing regexp: missing closing \): `\(`/,
  );
  assert.throws(
    () => render('{{ mustRegexFind "a(?=b)" "x" }}'),
    /error calling mustRegexFind: error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/,
  );
});

test("the function map has dockerize's 13 names and at least 180 of sprig's", () => {
  const names = Object.keys(templateFuncs());
  for (const n of [
    "default",
    "exists",
    "contains",
    "split",
    "replace",
    "parseUrl",
    "atoi",
    "add",
    "isTrue",
    "lower",
    "upper",
    "jsonQuery",
    "loop",
  ]) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(names.length >= 180, `${names.length} functions`);
});

test("each template gets only the functions its text names: same output and errors as the whole map", () => {
  const all = Object.entries(templateFuncs());
  const tmpl = readFileSync(`${ROOT}/test/domeize/fixtures/sprig.tmpl`, "utf8");
  const filtered = (text: string) =>
    new Template("t", { funcs: funcsFor(text, all) }).parse(text).execute({});
  assert.equal(filtered(tmpl), render(tmpl));
  assert.deepEqual(Object.keys(funcsFor('{{ upper "a" | lower }}', all)).sort(), [
    "lower",
    "upper",
  ]);
  // A name the map lacks fails the same way; a longer name containing a
  // function's name (repeat / rep) is looked up as itself.
  for (const text of [
    "{{ nosuchfunc 1 }}",
    '{{ repeat 2 "a" }}',
    '{{ define "x" }}{{ trim . }}{{ end }}{{ template "x" " a " }}',
  ]) {
    let want: string;
    try {
      want = render(text);
    } catch (e) {
      want = `error: ${(e as Error).message}`;
    }
    let got: string;
    try {
      got = filtered(text);
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    assert.equal(got, want, text);
  }
});
