// Property test: random and mutated templates (seeded, reproducible) only ever
// throw the engine's ParseError or ExecError, never anything else (no
// TypeError, no RangeError), and never hang. Runs for a bounded time.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { rng } from "../../bench/prng.js";
import { ExecError, goFunc, ParseError, Template } from "../../src/gotemplate/index.js";
import { GOTMPL_KIT } from "../support/fixtures.js";

const BUDGET_MS = Number(process.env.GOTMPL_FUZZ_MS ?? 8_000);

const TOKENS = [
  "{{",
  "}}",
  "{{-",
  "-}}",
  " ",
  "\n",
  ".",
  ".a",
  ".b.c",
  "$",
  "$x",
  ":=",
  "=",
  "|",
  "(",
  ")",
  ",",
  '"s"',
  "`r`",
  "'c'",
  "1",
  "-1",
  "1.5",
  "0x1F",
  "1e3",
  "2i",
  "nil",
  "true",
  "if",
  "else",
  "end",
  "range",
  "with",
  "define",
  "template",
  "block",
  "break",
  "continue",
  '"t"',
  "and",
  "or",
  "not",
  "len",
  "index",
  "slice",
  "print",
  "printf",
  '"%v %d %q"',
  "println",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "html",
  "js",
  "urlquery",
  "call",
  "/*",
  "*/",
  "é",
  "\u2192",
  "\\",
  "$x := .l",
  "{{range $i, $v := .l}}",
  "{{end}}",
  "{{else}}",
  "{{if .a}}",
  "{{with .m}}",
  '{{template "t" .}}',
  '{{define "t"}}',
  "{{.}}",
  "{{up .a}}",
  "{{break}}",
  "{{continue}}",
];

const DATA = {
  a: 1,
  b: { c: [1, "two", null, { d: true }] },
  l: [3, 1, 2],
  m: { k: "v", __proto__: "p", n: null },
  s: "héllo",
  e: [],
  z: null,
};

function corpusTemplates(): string[] {
  try {
    const cases = JSON.parse(readFileSync(join(GOTMPL_KIT, "core.json"), "utf8")) as {
      template: string;
    }[];
    return cases.map((c) => c.template);
  } catch {
    return [
      "{{range $i, $v := .l}}{{$i}}={{$v}}{{end}}",
      '{{if and .a (eq .s "x")}}y{{else}}n{{end}}',
    ];
  }
}

function mutate(src: string, r: () => number): string {
  let s = src;
  const edits = 1 + Math.floor(r() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    const tok = TOKENS[Math.floor(r() * TOKENS.length)] as string;
    if (op < 0.4) s = s.slice(0, at) + tok + s.slice(at);
    else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 4));
    else s = s.slice(0, at) + tok + s.slice(at + tok.length);
  }
  return s;
}

function randomTemplate(r: () => number): string {
  let s = "";
  const n = 1 + Math.floor(r() * 25);
  for (let i = 0; i < n; i++) s += TOKENS[Math.floor(r() * TOKENS.length)];
  return s;
}

const funcs = { up: goFunc(["string"], ((x: string) => x.toUpperCase()) as never) };

function check(text: string, seed: number): void {
  try {
    const t = new Template("fuzz", { funcs });
    t.parse(text);
    const out = t.execute(DATA);
    assert.equal(typeof out, "string");
  } catch (e) {
    if (e instanceof ParseError || e instanceof ExecError) return;
    assert.fail(
      `seed ${seed}: template ${JSON.stringify(text)} threw ${(e as Error)?.name}: ${(e as Error)?.message}`,
    );
  }
}

test("random and mutated templates throw only ParseError/ExecError and terminate", {
  timeout: 120_000,
}, () => {
  const corpus = corpusTemplates();
  const baseSeed = Number(process.env.GOTMPL_FUZZ_SEED ?? Date.now() % 1_000_000);
  const deadline = Date.now() + BUDGET_MS;
  let runs = 0;
  for (let seed = baseSeed; Date.now() < deadline; seed++) {
    const r = rng(seed);
    const text =
      r() < 0.6 ? mutate(corpus[Math.floor(r() * corpus.length)] as string, r) : randomTemplate(r);
    check(text, seed);
    runs++;
  }
  assert.ok(runs > 100, `only ${runs} runs in the time budget`);
});
