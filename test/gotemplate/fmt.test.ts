// Go fmt behaviour the oracle table cannot express (NaN/Inf operands, host
// structs, typed slices and maps, Stringer methods, type names). Expected
// strings were produced by Go 1.19's fmt (a scratch Go program).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatFloat,
  goTypeName,
  printValue,
  sprint,
  sprintf,
  sprintfUncompiled,
  sprintln,
} from "../../src/gotemplate/fmt/index.js";
import { GoComplex, GoStruct, typedList, typedMap } from "../../src/gotemplate/value.js";

class KVPair extends GoStruct {
  constructor(
    public Key: string,
    public Value: string,
  ) {
    super();
  }
  get goType(): string {
    return "main.KVPair";
  }
}

class S extends GoStruct {
  hidden = "not exported";
  constructor(
    public A: unknown,
    public B: string[],
  ) {
    super();
  }
  get goType(): string {
    return "main.S";
  }
}

class Str extends GoStruct {
  constructor(public X: bigint) {
    super();
  }
  get goType(): string {
    return "main.Str";
  }
  String(): string {
    return sprintf("Str<%d>", [this.X]);
  }
}

class Panicky extends GoStruct {
  get goType(): string {
    return "main.P";
  }
  String(): string {
    throw new Error("boom");
  }
}

test("infinities and NaN never get zero padding and keep Go's signs", () => {
  const inf = Number.POSITIVE_INFINITY;
  const rows: [string, string, string, string][] = [
    ["%v", "+Inf", "-Inf", "NaN"],
    ["% v", " Inf", "-Inf", " NaN"],
    ["%8v", "    +Inf", "    -Inf", "     NaN"],
    ["%-8v|", "+Inf    |", "-Inf    |", "NaN     |"],
    ["%08v", "    +Inf", "    -Inf", "     NaN"],
    ["%.2f", "+Inf", "-Inf", "NaN"],
    ["%x", "+Inf", "-Inf", "NaN"],
    ["%+.3e", "+Inf", "-Inf", "+NaN"],
    ["% 08f", "     Inf", "    -Inf", "     NaN"],
  ];
  for (const [f, pinf, ninf, nan] of rows) {
    assert.equal(sprintf(f, [inf]), pinf, f);
    assert.equal(sprintf(f, [-inf]), ninf, f);
    assert.equal(sprintf(f, [Number.NaN]), nan, f);
  }
  assert.equal(printValue(inf), "+Inf");
  assert.equal(printValue(Number.NaN), "NaN");
});

test("printValue prints floats like Go's %v: shortest digits, exponent form from 1e+06 and below 1e-04", () => {
  const cases: [number, string][] = [
    [1e6, "1e+06"],
    [999999, "999999"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [-0, "-0"],
    [0, "0"],
    [123456789, "1.23456789e+08"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [0.1 + 0.2, "0.30000000000000004"],
    [5e-324, "5e-324"],
    [-1.5e-7, "-1.5e-07"],
  ];
  for (const [x, want] of cases) assert.equal(printValue(x), want, String(x));
});

test("explicit precisions round half to even on the exact binary value", () => {
  assert.equal(sprintf("%.0f %.0f %.0f %.0f", [0.5, 1.5, 2.5, -2.5]), "0 2 2 -2");
  assert.equal(sprintf("%.2f %.1f", [1.005, 0.25]), "1.00 0.2");
  assert.equal(formatFloat(2.675, "f", 2), "2.67");
  assert.equal(formatFloat(1e23, "e", 3), "1.000e+23");
  assert.equal(formatFloat(0.1, "f", 20), "0.10000000000000000555");
});

test("host structs print their exported fields; %+v names them, %#v is Go syntax", () => {
  const kv = new KVPair("a", "b");
  assert.equal(
    sprintf("%v|%+v|%#v|%s|%d|%T|%q|%x", [kv, kv, kv, kv, kv, kv, kv, kv]),
    '{a b}|{Key:a Value:b}|main.KVPair{Key:"a", Value:"b"}|{a b}|{%!d(string=a) %!d(string=b)}|main.KVPair|{"a" "b"}|{61 62}',
  );
  const s = new S(null, typedList("[]string", ["x", "y"]));
  assert.equal(
    sprintf("%v|%+v|%#v|%T", [s, s, s, s]),
    '{<nil> [x y]}|{A:<nil> B:[x y]}|main.S{A:interface {}(nil), B:[]string{"x", "y"}}|main.S',
  );
  assert.equal(printValue([kv, kv]), "[{a b} {a b}]");
});

test("typed slices and maps print with their Go types", () => {
  const list = typedList("[]string", ["a"]);
  const ss = typedMap("map[string]string", { k: "v" });
  const si = typedMap("map[string]int", { k: 10n });
  assert.equal(
    sprintf("%v|%#v|%d|%s|%x", [list, list, list, ss, si]),
    '[a]|[]string{"a"}|[%!d(string=a)]|map[k:v]|map[6b:a]',
  );
  const bytes = typedList("[]byte", [104n, 105n]);
  assert.equal(
    sprintf("%v|%#v|%s|%x|%q|%d", [bytes, bytes, bytes, bytes, bytes, bytes]),
    '[104 105]|[]byte{0x68, 0x69}|hi|6869|"hi"|[104 105]',
  );
  assert.equal(goTypeName(list), "[]string");
  assert.equal(goTypeName(si), "map[string]int");
});

test("String methods are used for %v %s %q %x but not %d or %#v", () => {
  const v = new Str(3n);
  assert.equal(
    sprintf("%v|%s|%q|%x|%d|%#v|%v", [v, v, v, v, v, v, [new Str(1n), new Str(2n)]]),
    'Str<3>|Str<3>|"Str<3>"|5374723c333e|{3}|main.Str{X:3}|[Str<1> Str<2>]',
  );
  assert.equal(sprint([v]), "Str<3>");
  assert.equal(sprintf("%v", [new Panicky()]), "%!v(PANIC=String method: boom)");
});

test("goTypeName names every value kind as %T does", () => {
  assert.equal(goTypeName(1n), "int");
  assert.equal(goTypeName(1.5), "float64");
  assert.equal(goTypeName("s"), "string");
  assert.equal(goTypeName(true), "bool");
  assert.equal(goTypeName(null), "<nil>");
  assert.equal(goTypeName([]), "[]interface {}");
  assert.equal(goTypeName({}), "map[string]interface {}");
  assert.equal(goTypeName(new KVPair("a", "b")), "main.KVPair");
  assert.equal(goTypeName(new GoComplex(1, 2)), "complex128");
});

test("sprint spaces operands only between two non-strings; sprintln always", () => {
  assert.equal(sprint([1n, 2n, "a", "b", 3n, null]), "1 2ab3 <nil>");
  assert.equal(sprintln([1n, "a", null]), "1 a <nil>\n");
  assert.equal(sprint([]), "");
  assert.equal(printValue(new GoComplex(1, -2)), "(1-2i)");
});

test("map keys print in byte order, and __proto__ is an ordinary key", () => {
  const m = JSON.parse('{"b":1,"__proto__":2,"a":3,"é":4,"Z":5}');
  assert.equal(printValue(m), "map[Z:5 __proto__:2 a:3 b:1 é:4]");
  assert.equal(printValue({ k: undefined }), "map[k:<nil>]");
});

test("a printf inside a String method does not corrupt the outer printf", () => {
  const v = new Str(7n);
  assert.equal(sprintf("[%5s|%-8v|%d]", [v, v, 2n]), "[Str<7>|Str<7>  |2]");
});

test("random formats and operands: sprintf never throws and both printf paths agree", () => {
  // Deterministic LCG so a failure is reproducible.
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const pieces = [
    "%",
    "%",
    "-",
    "+",
    "#",
    " ",
    "0",
    "1",
    "7",
    ".",
    "*",
    "[1]",
    "[3]",
    "v",
    "d",
    "s",
    "q",
  ];
  const more = [
    "x",
    "X",
    "e",
    "f",
    "g",
    "t",
    "c",
    "U",
    "o",
    "O",
    "b",
    "T",
    "p",
    "z",
    "é",
    "😀",
    "|",
  ];
  const operands: unknown[] = [
    -7n,
    0n,
    300n,
    -0,
    0.1,
    1e300,
    Number.NaN,
    "",
    "héllo\n",
    true,
    null,
    [1, "a", null],
    { b: [2], a: "x" },
    new KVPair("k", "v"),
    new Str(2n),
    new GoComplex(1, -1),
    typedList("[]byte", [65n, 66n]),
  ];
  for (let n = 0; n < 3000; n++) {
    let format = "";
    const len = 1 + Math.floor(rnd() * 8);
    for (let i = 0; i < len; i++) format += pick(rnd() < 0.6 ? pieces : more);
    const args = Array.from({ length: Math.floor(rnd() * 4) }, () => pick(operands));
    const got = sprintf(format, args);
    assert.equal(typeof got, "string");
    assert.equal(got, sprintfUncompiled(format, args), `format ${JSON.stringify(format)}`);
  }
});

test("maps typed with numeric keys sort and print the keys as numbers", () => {
  const m = typedMap("map[int]string", { "10": "a", "9": "b", "-1": "c" });
  assert.equal(
    sprintf("%v|%#v", [m, m]),
    'map[-1:c 9:b 10:a]|map[int]string{-1:"c", 9:"b", 10:"a"}',
  );
  const f = typedMap("map[float64]int", { "2.5": 1n, "10": 2n });
  assert.equal(printValue(f), "map[2.5:1 10:2]");
});

test("the float64 text cache never returns another value's text", () => {
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  // Far more values than cache slots, so slots collide and get replaced.
  const xs = Array.from({ length: 20000 }, (_, i) =>
    i % 2 === 0
      ? Math.round(rnd() * 1e6) / 1000
      : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20),
  );
  const first = xs.map((x) => printValue(x));
  for (let i = xs.length - 1; i >= 0; i--) {
    const x = xs[i];
    const again = printValue(x);
    assert.equal(again, first[i]);
    const a = Math.abs(x);
    if (a >= 1e-4 && a < 1e6) assert.equal(again, String(x));
    else assert.match(again, /^-?\d(\.\d+)?e[-+]\d\d\d?$/);
  }
});
