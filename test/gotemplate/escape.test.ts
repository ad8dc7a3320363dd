// The html, js and urlquery builtins (Go's HTMLEscaper, JSEscaper,
// URLQueryEscaper). Expected strings come from Go 1.19 (the oracle); the
// broad table is in fmt-print.test.ts, these pin the individual rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  evalArgs,
  htmlEscaper,
  jsEscaper,
  queryEscape,
  urlQueryEscaper,
} from "../../src/gotemplate/escape.js";
import { GoStruct } from "../../src/gotemplate/value.js";

class Named extends GoStruct {
  get goType(): string {
    return "main.Named";
  }
  String(): string {
    return "<named>";
  }
}

test("html escapes the five specials and turns NUL into U+FFFD", () => {
  assert.equal(htmlEscaper(["a\u0000<b>\"&'"]), "a\ufffd&lt;b&gt;&#34;&amp;&#39;");
  const plain = "nothing to escape";
  assert.equal(htmlEscaper([plain]), plain);
});

test("js escapes quotes, backslash, <>=&, controls and non-printable runes as Go does", () => {
  assert.equal(
    jsEscaper(["é\u2028\u00ad<>=&\\\u0001"]),
    "é\\u2028\\u00AD\\u003C\\u003E\\u003D\\u0026\\\\\\u0001",
  );
  assert.equal(jsEscaper(['it\'s "x"']), 'it\\\'s \\"x\\"');
  assert.equal(jsEscaper(["😀"]), "😀");
});

test("urlquery is net/url.QueryEscape: space to +, UTF-8 bytes as %XX", () => {
  assert.equal(urlQueryEscaper(["a b/c?d=é&~-_."]), "a+b%2Fc%3Fd%3D%C3%A9%26~-_.");
  assert.equal(queryEscape("AZaz09"), "AZaz09");
});

test("operands are joined like fmt.Sprint; nil is <no value>; a lone string is used as is", () => {
  assert.equal(htmlEscaper([1n, 2n, "x", 3n]), "1 2x3");
  assert.equal(jsEscaper([null]), "\\u003Cno value\\u003E");
  assert.equal(urlQueryEscaper([undefined, "x"]), "%3Cno+value%3Ex");
  assert.equal(evalArgs(["<as is>"]), "<as is>");
  assert.equal(evalArgs([1.5, true]), "1.5 true");
  assert.equal(htmlEscaper([new Named()]), "&lt;named&gt;");
});
