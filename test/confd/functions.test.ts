// confd template functions: Go-exact behaviour checked against outputs the
// Go oracle (test/fixtures/gotmpl/oracle, real text/template + Go's strings/strconv/
// path/encoding/json) recorded in fixtures/, plus the confd-specific
// semantics the oracle's stand-in set does not cover.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MapView } from "../../src/confd/backends/backend.js";
import { confdCaseFuncs, confdFuncs } from "../../src/confd/funcs/index.js";
import { KeySpace, keySpaceFromObject } from "../../src/confd/template/key-space.js";
import { GoTime } from "../../src/golib/time.js";
import { Template } from "../../src/gotemplate/index.js";
import { REPO_ROOT } from "../support/fixtures.js";

const FIXTURES = join(REPO_ROOT, "test", "confd", "fixtures");

interface Case {
  name: string;
  template: string;
  data: unknown;
}
interface Expected {
  name: string;
  output: string | null;
  error: string | null;
}

function runCase(c: Case): { output: string | null; error: string | null } {
  try {
    const { funcs, data } = confdCaseFuncs(c.data);
    return { output: new Template(c.name, { funcs }).parse(c.template).execute(data), error: null };
  } catch (err) {
    return { output: null, error: (err as Error).message };
  }
}

// Where the oracle's small stand-in set is not confd, confd's real behaviour wins.
const OVERRIDES: Record<string, Partial<Expected>> = {
  // confd's div/mod are plain Go `/` and `%`: the runtime panic text.
  div0: {
    error:
      'template: div0:1:2: executing "div0" at <div 1 0>: error calling div: runtime error: integer divide by zero',
  },
  mod0: {
    error:
      'template: mod0:1:2: executing "mod0" at <mod 1 0>: error calling mod: runtime error: integer divide by zero',
  },
  // The stand-in has no `get`.
  getKV: { output: "{/a 1} hello", error: null },
  getMissing: {
    output: null,
    error:
      'template: getMissing:1:2: executing "getMissing" at <get "/zz">: error calling get: key does not exist: /zz',
  },
  printfT: { output: "memkv.KVPairs []string memkv.KVPair", error: null },
};

for (const suite of ["confd-funcs", "json-errors"]) {
  test(`oracle-recorded cases: ${suite}`, () => {
    const cases = JSON.parse(readFileSync(join(FIXTURES, `${suite}.cases.json`), "utf8")) as Case[];
    const expected = JSON.parse(
      readFileSync(join(FIXTURES, `${suite}.expected.json`), "utf8"),
    ) as Expected[];
    assert.equal(cases.length, expected.length);
    cases.forEach((c, i) => {
      const exp = { ...expected[i], ...OVERRIDES[c.name] };
      const got = runCase(c);
      assert.deepEqual(
        got,
        { output: exp.output, error: exp.error },
        `case ${c.name}: ${c.template}`,
      );
    });
  });
}

const KV = { "/list/x1": "c", "/list/x2": "a", "/list/x10": "b", "/a": "1" };

function render(
  tmpl: string,
  kv: Record<string, string> = KV,
  env: NodeJS.ProcessEnv = {},
): string {
  const { funcs } = confdFuncs(keySpaceFromObject(kv), {
    env,
    resolver: {
      lookupIP: (h) => (h === "dual" ? ["::1", "10.0.0.2", "10.0.0.10"] : []),
      lookupSRV: () => [],
    },
    now: () => Date.UTC(2024, 1, 3, 4, 5, 6, 789),
  });
  return new Template("t", { funcs }).parse(tmpl).execute(null);
}

function renderError(tmpl: string, kv: Record<string, string> = KV): string {
  assert.throws(() => render(tmpl, kv));
  try {
    render(tmpl, kv);
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}

test("reverse works on gets (confd: silent no-op) and on getvs, in place", () => {
  assert.equal(
    render('{{range reverse (gets "/list/*")}}{{.Key}} {{end}}'),
    "/list/x2 /list/x10 /list/x1 ",
  );
  assert.equal(render('{{range reverse (getvs "/list/*")}}{{.}} {{end}}'), "c b a ");
  assert.equal(render('{{$l := split "a,b" ","}}{{$_ := reverse $l}}{{$l}}'), "[b a]");
  assert.equal(render('{{reverse "abc"}}'), "abc");
});

test("sortByLength / sortKVByLength order by length, ties keep order", () => {
  assert.equal(render('{{sortByLength (split "ccc,a,bb,dd,e" ",")}}'), "[a e bb dd ccc]");
  assert.equal(
    render('{{range sortKVByLength (gets "/list/*")}}{{.Key}} {{end}}'),
    "/list/x1 /list/x2 /list/x10 ",
  );
  assert.match(renderError('{{sortKVByLength (getvs "/list/*")}}'), /expected \[\]memkv.KVPair/);
});

test("map: pairs, odd arguments and non-string keys are errors", () => {
  assert.equal(
    render('{{$m := map "name" "es" "port" 9200}}{{index $m "port"}} {{$m}}'),
    "9200 map[name:es port:9200]",
  );
  assert.match(renderError('{{map "a"}}'), /error calling map: invalid map call/);
  assert.match(renderError("{{map 1 2}}"), /error calling map: map keys must be strings/);
});

test("getenv: value, default for unset and for empty", () => {
  const env = { SET: "v", EMPTY: "" };
  assert.equal(
    render(
      '{{getenv "SET"}} {{getenv "UNSET" "d"}} {{getenv "EMPTY" "d2"}} [{{getenv "UNSET"}}]',
      KV,
      env,
    ),
    "v d d2 []",
  );
});

test("base64, parseBool", () => {
  assert.equal(render('{{base64Encode "héllo"}} {{base64Decode "aMOpbGxv"}}'), "aMOpbGxv héllo");
  assert.match(
    renderError('{{base64Decode "a!=="}}'),
    /error calling base64Decode: illegal base64 data at input byte 1/,
  );
  assert.equal(
    render('{{parseBool "T"}} {{parseBool "0"}} {{parseBool "True"}}'),
    "true false true",
  );
  assert.match(
    renderError('{{parseBool "yes"}}'),
    /strconv.ParseBool: parsing "yes": invalid syntax/,
  );
});

test("datetime is a time.Time with Go layouts", () => {
  assert.equal(render('{{printf "%T" datetime}}'), "time.Time");
  assert.equal(
    render('{{datetime.UTC.Format "2006-01-02T15:04:05.000Z07:00 Jan Mon 3PM"}}'),
    "2024-02-03T04:05:06.789Z Feb Sat 4AM",
  );
  assert.equal(render("{{datetime.Unix}}"), "1706933106");
  assert.equal(new GoTime(Date.UTC(2024, 0, 5), true).Format("_2 002 06 .999"), " 5 005 24 ");
});

test("lookupIP sorts as strings and splits v4/v6; failures give []", () => {
  assert.equal(
    render('{{lookupIP "dual"}} {{lookupIPV4 "dual"}} {{lookupIPV6 "dual"}} {{lookupIP "none"}}'),
    "[10.0.0.10 10.0.0.2 ::1] [10.0.0.10 10.0.0.2] [::1] []",
  );
});

test("fileExists, toUpper keeps characters Go does not map", () => {
  assert.equal(render('{{fileExists "/"}} {{fileExists "/no/such/file"}}'), "true false");
  assert.equal(render('{{toUpper "straße"}}'), "STRAßE");
});

test("ls / lsdir with memkv's semantics", () => {
  const kv = {
    "/fn/a": "1",
    "/fn/dir/sub/k": "v",
    "/fn/dir/leaf": "v",
    "/top": "t",
    "/fnx/o": "o",
  };
  assert.equal(
    render(
      '{{ls "/fn"}} {{ls "/fn/"}} {{ls "/fn/a"}} {{ls "/fn/dir"}} {{ls "/"}} {{ls "/nothing"}}',
      kv,
    ),
    "[a dir] [a dir] [a] [leaf sub] [top] []",
  );
  // memkv quirk kept: "/" splits into ["", ""], so ls/lsdir "/" see only top-level keys / nothing.
  assert.equal(render('{{lsdir "/fn"}} {{lsdir "/fn/dir"}} {{lsdir "/"}}', kv), "[dir] [sub] []");
});

test("keys are presented as confd does: prefix stripped, cleaned; siblings excluded", () => {
  const view = new MapView(
    new Map([
      ["/app/list/a", "1"],
      ["/app/list//b", "2"],
      ["/app/list/c/", "3"],
      ["/app/listx/d", "4"],
      ["/other/e", "5"],
    ]),
  );
  const ks = new KeySpace(["/app/list"], "/app");
  ks.rebuild(view);
  assert.deepEqual(ks.toObject(), { "/list/a": "1", "/list/b": "2", "/list/c": "3" });
  // Incremental update: a changed key, a deleted key, a sibling that is ignored.
  view.map.set("/app/list/a", "1b");
  view.map.delete("/app/list//b");
  view.map.set("/app/list/z", "26");
  view.map.set("/app/listx/q", "no");
  assert.equal(ks.update(view, ["/app/list/a", "/app/list//b", "/app/list/z"]), true);
  assert.equal(ks.update(view, ["/app/listx/q"]), false);
  assert.deepEqual(ks.sortedKeys(), ["/list/a", "/list/c", "/list/z"]);
  assert.deepEqual(ks.toObject(), { "/list/a": "1b", "/list/c": "3", "/list/z": "26" });
});

test("gets over many keys uses the sorted key space (byte order, no re-sort)", () => {
  const kv: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) kv[`/p/k${i}`] = String(i);
  kv["/q/other"] = "x";
  const out = render(
    '{{len (gets "/p/*")}} {{(index (gets "/p/k1*") 0).Key}} {{len (gets "/q/*")}}',
    kv,
  );
  assert.equal(out, "2000 /p/k1 1");
});

test("cached gets and json stay correct across changes, deletes, re-lists and in-place reverse", () => {
  const map = new Map<string, string>();
  for (let i = 0; i < 50; i++) map.set(`/p/k${i}`, `{"n":${i}}`);
  const view = new MapView(map);
  const ks = new KeySpace(["/p"], "/");
  ks.rebuild(view);
  const { funcs } = confdFuncs(ks);
  const t = new Template("t", { funcs }).parse(
    '{{range reverse (gets "/p/*")}}{{.Key}}:{{(json .Value).n}},{{end}}|{{len (gets "/p/*")}}',
  );
  const expected = () => {
    const keys = [...map.keys()]
      .filter((k) => k.startsWith("/p/"))
      .sort()
      .reverse();
    return `${keys.map((k) => `${k}:${JSON.parse(map.get(k) as string).n},`).join("")}|${keys.length}`;
  };
  assert.equal(t.execute(null), expected());
  const change = (keys: string[]) => {
    ks.update(view, keys);
    assert.equal(t.execute(null), expected(), `after ${keys.join(" ")}`);
  };
  map.set("/p/k3", '{"n":333}');
  change(["/p/k3"]);
  map.delete("/p/k10");
  map.set("/p/new", '{"n":-1}');
  change(["/p/k10", "/p/new"]);
  map.set("/p/k3", '{"n":3}');
  map.set("/p/k3", '{"n":4}');
  change(["/p/k3", "/p/k3"]);
  map.set("/px/sibling", '{"n":0}');
  change(["/px/sibling"]);
  for (let i = 0; i < 30; i++) map.delete(`/p/k${i}`);
  ks.rebuild(view);
  assert.equal(t.execute(null), expected(), "after a re-list");
});
