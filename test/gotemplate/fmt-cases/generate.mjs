#!/usr/bin/env node
// Regenerates cases.json: a table of printf calls whose expected outputs come
// from Go 1.19 itself (the oracle /tmp/gotmpl-ref running text/template's printf,
// which is fmt.Sprintf). Run: node test/gotemplate/fmt-cases/generate.mjs
//
// Each entry is {format, args, expected}, or {format, repeat, arg, expected}
// when one operand is passed `repeat` times.
// Argument encoding in cases.json (decoded by test/gotemplate/fmt.test.ts):
//   JSON number -> float64; {"int":"-5"} -> int (bigint); {"float":"-0"} -> float64 -0;
//   {"complex":[1,2]} -> complex128; {"data":X} -> X decoded like Go's encoding/json
//   (numbers float64); strings, booleans and null as themselves.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ORACLE = process.env.GOTMPL_REF ?? "/tmp/gotmpl-ref";
const int = (s) => ({ int: String(s) });

const ints = [0, 1, -1, 7, 42, 255, -255, 65, 0x263a, 0x1f600, 1000000, 1114112, 0xd800, 0x7f, 10]
  .map(int)
  .concat([int("9223372036854775807"), int("-9223372036854775808")]);
const floats = [
  0,
  1,
  -1,
  0.5,
  1.5,
  2.5,
  3.5,
  -2.5,
  0.1,
  0.125,
  0.375,
  1 / 3,
  2 / 3,
  100,
  1e6,
  999999,
  1e-4,
  9.99e-5,
  1e-5,
  1e20,
  1e21,
  123456789,
  1234.5678,
  1e-7,
  5e-324,
  1.7976931348623157e308,
  1e100,
  0.000123,
  123456.7,
  2.675,
  1.005,
  0.045,
  1e15 + 0.5,
  4.35,
  -0.0001234,
  6.02214076e23,
  255.9,
  { float: "-0" },
];
const strings = [
  "",
  "a",
  "hello",
  "héllo",
  "日本語",
  'a\nb\t"c"\\',
  "\u0000\u0007\u007f\u001b",
  "`raw`",
  "\u00ad soft",
  "😀x",
  "\ufeff",
  "\u2028",
  "e\u0301",
  "x y",
  "'",
  "\r\v\f\b",
  "\u0085\u00a0",
  "\u{e0001}",
  "\u{10ffff}",
  "<&>",
  Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)).join(""),
  Array.from({ length: 128 }, (_, c) => String.fromCharCode(c + 128)).join(""),
  "\u0378\u200b\ufffe\u{1f6d8}\u{e0100}\u3000\u2029\u061c",
];
const bools = [true, false];
const others = [
  null,
  { data: [1, 2] },
  { data: ["a", "b"] },
  { data: [] },
  { data: {} },
  { data: { a: 1, b: "x" } },
  { data: { m: { k: [1, null, true] } } },
  { data: [null] },
  { data: { z: null, é: 2, B: 3, a: -0.5 } },
  { data: [[1.5, "s"], { x: [] }] },
  { data: [255, 16] },
  { complex: [1, 2] },
  { complex: [-1.5, -0.25] },
];

const verbs = "v +v #v s q +q #q d x X o O b e E f F g G t c U #U T z".split(" ");
const flagSets = [
  "",
  "-",
  "+",
  "#",
  " ",
  "0",
  "08",
  "-8",
  "8",
  ".3",
  "8.3",
  "-8.3",
  "08.3",
  "+.2",
  " .0",
  ".0",
  "#8",
  "+08",
  "010.4",
  "-#12.1",
  "+ ",
  "3",
  ".10",
];

function goArg(v, k) {
  if (v && typeof v === "object" && "int" in v) return v.int;
  if (v && typeof v === "object" && "complex" in v) {
    const [re, im] = v.complex;
    return im < 0 ? `(${re}${im}i)` : `(${re}+${im}i)`;
  }
  return `.a${k}`;
}
function dataJSON(v) {
  if (v && typeof v === "object" && "float" in v) return v.float;
  if (v && typeof v === "object" && "data" in v) return JSON.stringify(v.data);
  return JSON.stringify(v);
}
const goString = (s) => JSON.stringify(s); // JSON escapes are valid Go escapes here

const cases = [];
function add(format, args, repeated = false) {
  cases.push({ format, args, repeated });
}
for (const v of [...ints, ...floats, ...strings, ...bools, ...others]) {
  for (const f of flagSets) {
    const parts = verbs.map((verb) => `%${verb.length > 1 ? verb[0] + f : f}${verb.at(-1)}`);
    add(
      parts.join("|"),
      parts.map(() => v),
      true,
    );
  }
}
// Printf machinery: indexes, star widths, error forms, Sprint-like operands.
const one = int(1);
const two = int(2);
const extra = [
  ["%!", []],
  ["%", []],
  ["%d", []],
  ["%d %d", [one]],
  ["%d", [one, two]],
  ["%s", [one, "x", null]],
  ["%[2]d %[1]d", [one, two]],
  ["%[3]d", [one, two]],
  ["%[0]d", [one]],
  ["%[x]d", [one]],
  ["%[2]*d", [int(5), one]],
  ["%[1]d %d %d", [one, two]],
  ["%[2]d %d", [one, two, int(3)]],
  ["%*d", [int(5), one]],
  ["%-*d|", [int(5), one]],
  ["%*d", [int(-5), one]],
  ["%.*f", [int(2), 3.14158]],
  ["%.*f", [int(-2), 3.14158]],
  ["%*d", [1.5, one]],
  ["%*d", ["x", one]],
  ["%.*d", ["x", one]],
  ["%*d", [int(10000000), one]],
  ["%100000000d", [one]],
  ["%[1]2d", [one]],
  ["%[1].2d", [one]],
  ["%.[1]*d", [int(3), one]],
  ["%3.[2]d", [one, two]],
  ["%[", [one]],
  ["%[1", [one]],
  ["%[]d", [one]],
  ["%.", [one]],
  ["%-", [one]],
  ["%5%", []],
  ["%%%d", [one]],
  ["%é", [one]],
  ["%😀", [one]],
  ["%v %v", [null, null]],
  ["%d", [null]],
  ["%T", [null]],
  ["%s", [{ data: [null] }]],
  ["%d", [{ data: { a: "x" } }]],
  ["%5v", [{ data: [1, "a"] }]],
  ["%q", [{ data: ["a", 1] }]],
  ["%x", [{ data: ["ab", 10] }]],
  ["%06.2f", [-1.5]],
  ["%+06d", [int(-42)]],
  ["%-06d|", [int(42)]],
  ["%x", ["日本"]],
  ["%.2x", ["hello"]],
  ["% #x", ["abc"]],
  ["%# X", ["abc"]],
  ["%10x|", ["ab"]],
  ["%-10x|", ["ab"]],
  ["%.1s|%.0s|%.10s", ["日本語", "x", "abc"]],
  ["%5.1q", ["日本語"]],
  ["%08s", ["ab"]],
  ["%-08s|", ["ab"]],
  ["%08q", ["ab"]],
  ["%#v", [{ data: { a: [1, { b: null }] } }]],
  ["%+v", [{ data: { a: [1, { b: null }] } }]],
  ["%v %d %s", ["x", one, true]],
  ["%t", [one]],
  ["%p", ["x"]],
  ["%p", [one]],
  ["%.3v", [3.14158]],
  ["%10.3v|", [3.14158]],
  ["%#.3v", [1.0]],
  ["%#g", [1.0]],
  ["%#.4g", [123.0]],
  ["%#e", [1.0]],
  ["%#.0f", [1.0]],
  ["%#.0e", [1.0]],
  ["%#x", [1.0]],
  ["%#.3x", [1.0]],
  ["%.3x", [3.14158]],
  ["%.20f", [0.1]],
  ["%.30e", [1 / 3]],
  ["%.17g", [0.1]],
  ["%.0e", [2.5e10]],
  ["%.1e", [1.25]],
  ["%.1e", [1.35]],
  ["%.3g", [1e-5]],
  ["%.3g", [123456]],
  ["%g", [1e-5]],
  ["%g", [100000]],
  ["%g", [1e6]],
  ["%.0g", [0.5]],
  ["%.1f", [0.05]],
  ["%.2f", [-0.005]],
  ["%b", [1.0]],
  ["%b", [-0.1]],
  ["%b", [5e-324]],
  ["%x", [5e-324]],
  ["%X", [-1e300]],
  ["%.0x", [1.5]],
  ["%.1x", [1.96875]],
  ["%c|%c|%c", [int(-1), int(0x110000), int(0xdfff)]],
  ["%q|%+q|%#q", [int(0x1f600), int(0xe9), int(0x27)]],
  ["%U|%#U|%.6U|%#8U|", [int(-1), int(0x1f600), int(0x41), int(0x7)]],
  ["%#U", [int(0x110000)]],
  ["%08U|%-8U|", [int(0x41), int(0x41)]],
  ["%s", ["%d"]],
  ["x%sy", [""]],
  ["%v%v", ["a", "b"]],
  ["%d%%", [int(50)]],
  ["%3c|%-3c|", [int(65), int(66)]],
  ["%x", [int(-1)]],
  ["%#o", [int(0)]],
  ["%#x", [int(0)]],
  ["%.0d|%5.0d|%-5.0x|", [int(0), int(0), int(0)]],
  ["%+.3d|% .3d", [int(7), int(7)]],
  ["%#b|%#O", [int(5), int(-8)]],
];
for (const [format, args] of extra) add(format, args);

// Oracle batch: one template per case, args from int/complex literals or data keys.
const oracleCases = cases.map((c, i) => {
  const data = `{${c.args.map((v, k) => `"a${k}":${dataJSON(v)}`).join(",")}}`;
  const argText = c.args.map((v, k) => ` ${goArg(v, k)}`).join("");
  return {
    name: `c${i}`,
    template: `{{printf ${goString(c.format)}${argText}}}`,
    data: JSON.parse(data),
  };
});
const raw = JSON.stringify(oracleCases);
const dir = mkdtempSync(join(tmpdir(), "fmtcases-"));
const file = join(dir, "cases.json");
writeFileSync(file, fixNegZero(raw));
const out = JSON.parse(execFileSync(ORACLE, ["-compact", file], { maxBuffer: 1 << 28 }).toString());
rmSync(dir, { recursive: true });

function fixNegZero(text) {
  const parsed = JSON.parse(text);
  return `[${parsed
    .map((oc, i) => {
      const c = cases[i];
      let s = JSON.stringify(oc);
      c.args.forEach((v, k) => {
        if (v && typeof v === "object" && v.float === "-0")
          s = s.replace(`"a${k}":0`, `"a${k}":-0`);
      });
      return s;
    })
    .join(",")}]`;
}

const table = cases.map((c, i) => {
  const r = out[i];
  if (r.error !== null) throw new Error(`oracle failed on ${JSON.stringify(c)}: ${r.error}`);
  // A repeated operand is stored once: {"format", "repeat": n, "arg", "expected"}.
  if (c.repeated)
    return { format: c.format, repeat: c.args.length, arg: c.args[0], expected: r.output };
  return { format: c.format, args: c.args, expected: r.output };
});
writeFileSync(
  new URL("./cases.json", import.meta.url),
  `${JSON.stringify(table, null, 0).replaceAll('},{"format"', '},\n{"format"')}\n`,
);
console.log(`${table.length} cases written`);

// ---------------------------------------------------------------------------
// print-cases.json: print, println, {{.x}} (printValue) and the escapers
// html, js, urlquery on the same kinds of operands.
const fns = ["print", "println", "html", "js", "urlquery"];
const operandSets = [
  ...[...ints.slice(0, 6), ...floats, ...strings, ...bools, ...others].map((v) => [v]),
  [int(1), int(2)],
  ["a", "b"],
  ["a", int(1)],
  [int(1), "a", int(2)],
  [1.5, 2.5],
  [true, false],
  [null, null],
  ["x", null],
  [null, "x"],
  [int(1), null, int(2)],
  [{ data: [1] }, { data: { a: 1 } }],
  ["<a href='x'>", '&"\u0000'],
  ["a b&c=d/e?f", int(3)],
  ["é\u2028\u00ad\ufeff😀", "\u0001\u001f=<>"],
  ["\\'\"", "a\tb"],
  [],
  [{ complex: [1, -2] }, { float: "-0" }],
];
const printCases = [];
for (const args of operandSets) {
  for (const fn of fns) printCases.push({ fn, args });
  if (args.length === 1 && args[0] !== null) printCases.push({ fn: "value", args });
}
const printOracle = printCases.map((c, i) => {
  const argText = c.args.map((v, k) => ` ${goArg(v, k)}`).join("");
  const template = c.fn === "value" ? `{{${goArg(c.args[0], 0)}}}` : `{{${c.fn}${argText}}}`;
  const data = `{${c.args.map((v, k) => `"a${k}":${dataJSON(v)}`).join(",")}}`;
  return { name: `p${i}`, template, data: JSON.parse(data) };
});
const dir2 = mkdtempSync(join(tmpdir(), "printcases-"));
const file2 = join(dir2, "cases.json");
writeFileSync(file2, fixNegZeroIn(printOracle, printCases));
const out2 = JSON.parse(execFileSync(ORACLE, ["-compact", file2]).toString());
rmSync(dir2, { recursive: true });
const printTable = printCases.map((c, i) => {
  if (out2[i].error !== null)
    throw new Error(`oracle failed on ${JSON.stringify(c)}: ${out2[i].error}`);
  return { fn: c.fn, args: c.args, expected: out2[i].output };
});
writeFileSync(
  new URL("./print-cases.json", import.meta.url),
  `${JSON.stringify(printTable).replaceAll('},{"fn"', '},\n{"fn"')}\n`,
);
console.log(`${printTable.length} print/escape cases written`);

function fixNegZeroIn(oracle, list) {
  return `[${oracle
    .map((oc, i) => {
      let s = JSON.stringify(oc);
      list[i].args.forEach((v, k) => {
        if (v && typeof v === "object" && v.float === "-0")
          s = s.replace(`"a${k}":0`, `"a${k}":-0`);
      });
      return s;
    })
    .join(",")}]`;
}
