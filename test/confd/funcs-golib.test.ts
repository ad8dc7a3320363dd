// confd's strconv and path functions are Go's (src/golib): their errors and
// answers in a template are the Go 1.19 oracle's (test/fixtures/golib).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { confdCaseFuncs } from "../../src/confd/funcs/index.js";
import { Template } from "../../src/gotemplate/index.js";

interface Row {
  fn: string;
  args: unknown[];
  out?: unknown;
  err?: string;
}

const rows = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/golib/stdlib.json", import.meta.url), "utf8"),
) as Row[];
const oracle = (fn: string, arg: string) =>
  rows.find((r) => r.fn === fn && r.args.length === 1 && r.args[0] === arg) as Row;

function render(text: string): string {
  const { funcs, data } = confdCaseFuncs({});
  return new Template("t", { funcs }).parse(text).execute(data);
}

test('confd atoi "\\a": strconv.Atoi\'s error, quoted as Go quotes it', () => {
  const want = oracle("Atoi", "\x07").err as string;
  assert.equal(want, 'strconv.Atoi: parsing "\\a": invalid syntax');
  assert.throws(
    () => render('{{ atoi "\\a" }}'),
    (e: Error) => e.message.endsWith(want),
  );
  assert.throws(
    () => render('{{ parseBool "yes" }}'),
    (e: Error) => e.message.endsWith(oracle("ParseBool", "yes").err as string),
  );
});

test("confd base and dir are Go's path.Base and path.Dir", () => {
  for (const p of ["a/", "/a/b/", "", "//", "a//b"]) {
    assert.equal(render(`{{ base ${JSON.stringify(p)} }}`), oracle("path.Base", p).out);
    assert.equal(render(`{{ dir ${JSON.stringify(p)} }}`), oracle("path.Dir", p).out);
  }
});
