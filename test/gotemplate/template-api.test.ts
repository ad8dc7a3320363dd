// The public Template API: construction options, parse/exec error types and
// locations, named templates, function libraries with Go argument checking,
// host structs and typed values, safety bounds.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ExecError,
  FuncError,
  GoStruct,
  goFunc,
  ParseError,
  Template,
  TemplateError,
  typedList,
  typedMap,
} from "../../src/gotemplate/index.js";

function render(
  text: string,
  data: unknown,
  opts: ConstructorParameters<typeof Template>[1] = {},
): string {
  return new Template("t", opts).parse(text).execute(data);
}

test("renders text, fields, ranges and Go number formatting", () => {
  assert.equal(
    render("a {{.x}} {{range .l}}[{{.}}]{{end}}", { x: 1e6, l: [1, "b", null] }),
    "a 1e+06 [1][b][<no value>]",
  );
  assert.equal(render("{{1000000}} {{.n}}", { n: -0 }), "1000000 -0");
});

test("parse errors are ParseError with Go's message and line", () => {
  const t = new Template("conf");
  assert.throws(
    () => t.parse("line1\n{{if .x}}\n{{end"),
    (e: unknown) => {
      assert.ok(e instanceof ParseError && e instanceof TemplateError);
      assert.equal(e.message, "template: conf:3: unclosed action");
      assert.equal(e.templateName, "conf");
      assert.equal(e.line, 3);
      return true;
    },
  );
  assert.throws(
    () => new Template("u").parse("{{nofunc 1}}"),
    /template: u:1: function "nofunc" not defined/,
  );
});

test("exec errors are ExecError with NAME:LINE:COL and the expression", () => {
  const t = new Template("site.conf").parse("listen {{.port}}\nserver {{index .l 5}}");
  assert.throws(
    () => t.execute({ port: 80, l: [] }),
    (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.equal(
        e.message,
        'template: site.conf:2:9: executing "site.conf" at <index .l 5>: error calling index: index out of range: 5',
      );
      assert.equal(e.line, 2);
      assert.equal(e.col, 9);
      return true;
    },
  );
});

test("int vs float64 comparisons are errors, as in Go", () => {
  assert.throws(() => render("{{eq .n 1}}", { n: 1 }), /incompatible types for comparison/);
  assert.equal(render("{{eq .n 1.0}} {{and 0 1}} {{or 0 .s}}", { n: 1, s: "x" }), "true 0 x");
});

test("options: delims, missingKey, option()", () => {
  assert.equal(render("<<.a>> {{.a}}", { a: 1 }, { delims: ["<<", ">>"] }), "1 {{.a}}");
  assert.throws(
    () => render("{{.a}}", {}, { missingKey: "error" }),
    /map has no entry for key "a"/,
  );
  assert.equal(
    new Template("z").option("missingkey=zero").parse("{{.a}}").execute({}),
    "<no value>",
  );
  assert.throws(() => new Template("o").option("missingkey=bogus"), TemplateError);
  assert.throws(
    () => new Template("o", { missingKey: "nope" }),
    /unrecognized option: missingkey=nope/,
  );
});

test("named templates: define, template, block, lookup, executeTemplate, templates", () => {
  const t = new Template("root").parse(
    '{{define "item"}}<{{.}}>{{end}}{{range .}}{{template "item" .}}{{end}}{{block "tail" 1}}T{{.}}{{end}}',
  );
  assert.equal(t.execute(["a", "b"]), "<a><b>T1");
  assert.equal(t.executeTemplate("item", 7), "<7>");
  assert.equal(t.lookup("item")?.name, "item");
  assert.equal(t.lookup("missing"), undefined);
  assert.deepEqual(
    t
      .templates()
      .map((x) => x.name)
      .sort(),
    ["item", "root", "tail"],
  );
  assert.throws(
    () => t.executeTemplate("nope", 1),
    /no template "nope" associated with template "root"/,
  );
  // A later parse can redefine a template; an empty body does not replace one.
  t.parse('{{define "item"}}[{{.}}]{{end}}');
  assert.equal(t.executeTemplate("item", 1), "[1]");
});

test("function libraries: Go argument checking, variadics, FuncError", () => {
  const funcs = {
    add: goFunc(["int", "int"], ((a: number, b: number) => a + b) as never, { result: "int" }),
    half: goFunc(["float64"], ((x: number) => x / 2) as never),
    cat: goFunc(["string"], ((a: string, ...r: string[]) => a + r.join("")) as never, {
      variadic: "string",
    }),
    fail: goFunc([], (() => {
      throw new FuncError("boom");
    }) as never),
    words: goFunc([], (() => typedList("[]string", ["x", "y"])) as never),
    join: goFunc(["[]string", "string"], ((a: string[], s: string) => a.join(s)) as never),
  };
  const r = (s: string, d: unknown = {}) => render(s, d, { funcs });
  assert.equal(r("{{add 1 2}} {{add (len .l) 1}}", { l: [1, 2] }), "3 3");
  assert.equal(r('{{printf "%T" (add 1 2)}}'), "int");
  assert.throws(
    () => r("{{add .n 1}}", { n: 1 }),
    /wrong type for value; expected int; got float64/,
  );
  assert.throws(() => r("{{add 1.5 1}}"), /expected integer; found 1.5/);
  assert.throws(() => r("{{add 1}}"), /wrong number of args for add: want 2 got 1/);
  assert.equal(r("{{half 3}} {{half .n}}", { n: 5 }), "1.5 2.5");
  assert.equal(r('{{cat "a" "b" "c"}} {{"z" | cat "y"}}'), "abc yz");
  assert.throws(() => r("{{cat}}"), /want at least 1 got 0/);
  assert.throws(
    () => r("{{fail}}"),
    (e: unknown) => e instanceof ExecError && e.message.endsWith("error calling fail: boom"),
  );
  assert.equal(r('{{join words "-"}} {{words}}'), "x-y [x y]");
  assert.throws(
    () => r('{{join .l "-"}}', { l: ["a"] }),
    /expected \[\]string; got \[\]interface \{\}/,
  );
  assert.throws(
    () => new Template("f", { funcs: { "bad-name": funcs.add } }),
    /not a valid identifier/,
  );
});

class KVPair extends GoStruct {
  static goMethods = { Repeat: { params: ["int"] } };
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {
    super();
  }
  get goType(): string {
    return "main.KVPair";
  }
  Upper(): string {
    return this.Value.toUpperCase();
  }
  Repeat(n: number): string {
    return this.Value.repeat(n);
  }
}

test("host structs: exported fields, methods with declared signatures, %v/%+v printing", () => {
  const funcs = {
    pairs: goFunc([], (() =>
      typedList("[]main.KVPair", [new KVPair("a", "x"), new KVPair("b", "y")])) as never),
  };
  const r = (s: string) => render(s, {}, { funcs });
  assert.equal(
    r("{{range pairs}}{{.Key}}={{.Value}} {{.Upper}} {{.Repeat 2}};{{end}}"),
    "a=x X xx;b=y Y yy;",
  );
  assert.equal(r('{{pairs}} {{printf "%+v" (index pairs 0)}}'), "[{a x} {b y}] {Key:a Value:x}");
  assert.throws(
    () => r("{{range pairs}}{{.Nope}}{{end}}"),
    /can't evaluate field Nope in type main.KVPair/,
  );
  assert.throws(() => r("{{range pairs}}{{.Repeat 1.5}}{{end}}"), /expected integer; found 1.5/);
  assert.throws(
    () => r("{{range pairs}}{{.Key 1}}{{end}}"),
    /Key has arguments but cannot be invoked as function/,
  );
});

test("typed maps: missing keys give the element's zero value under missingkey=zero", () => {
  const funcs = { env: goFunc([], (() => typedMap("map[string]string", { A: "1" })) as never) };
  assert.equal(
    render('{{env.A}}|{{env.B}}|{{index env "B"}}|', {}, { funcs, missingKey: "zero" }),
    "1|||",
  );
});

test("__proto__ and constructor are ordinary map keys", () => {
  const data = JSON.parse('{"__proto__":"P","constructor":"C"}');
  assert.equal(
    render('{{.__proto__}} {{.constructor}} {{index . "__proto__"}} {{len .}}', data),
    "P C P 2",
  );
  assert.equal(
    render("{{.toString}}|{{.hasOwnProperty}}|{{len .}}", {}),
    "<no value>|<no value>|0",
  );
});

test("recursion and nesting are bounded with clear errors, never a RangeError", () => {
  assert.throws(
    () => render('{{define "r"}}{{template "r" .}}{{end}}{{template "r" 1}}', null),
    (e: unknown) => e instanceof ExecError && /exceeded maximum template depth/.test(e.message),
  );
  assert.throws(
    () => new Template("p").parse(`{{${"(".repeat(5000)}1${")".repeat(5000)}}}`),
    /max expression depth exceeded/,
  );
  assert.throws(() => new Template("p").parse("{{if 1}}".repeat(5000)), ParseError);
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 200_000; i++) {
    const next = {};
    deep.a = next;
    deep = next;
  }
  assert.throws(() => render("{{.}}", root), ExecError);
});

test("execute before parse and bad data are clear errors", () => {
  assert.throws(
    () => new Template("empty").execute({}),
    /"empty" is an incomplete or empty template/,
  );
  assert.equal(new Template("e").parse("").execute(null), "");
});

test("compiled templates are reusable and independent across executions", () => {
  const t = new Template("r").parse("{{$n := 0}}{{range .}}{{$n = .}}{{end}}{{$n}}");
  assert.equal(t.execute([1, 2, 3]), "3");
  assert.equal(t.execute([]), "0");
});
