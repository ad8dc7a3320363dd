// Range memo (src/confd/render/range-memo.ts): which templates get a plan, and
// byte-identical output against a full render across random pod changes,
// including deletes, new pods and malformed JSON (same error text).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { generatePods, rng } from "../../bench/confd-pods.js";
import { MapView } from "../../src/confd/backends/backend.js";
import { confdFuncs } from "../../src/confd/funcs/index.js";
import { planRangeMemo } from "../../src/confd/render/range-memo.js";
import { Renderer } from "../../src/confd/render/renderer.js";
import { KeySpace } from "../../src/confd/template/key-space.js";
import { CONFD_GOLDEN } from "../support/fixtures.js";

const UPSTREAM = readFileSync(join(CONFD_GOLDEN, "upstream.tmpl"), "utf8");
const funcs = confdFuncs(new KeySpace([], "/")).funcs;
const dir = mkdtempSync(join(tmpdir(), "confd-memo-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the seed template's range is memoized; the rest of the text is kept", () => {
  const plan = planRangeMemo(UPSTREAM, funcs);
  assert.ok(plan);
  assert.equal(plan.ranges.length, 1);
  assert.match(plan.ranges[0].body, /^\{\{\$data := json \.Value \}\}/);
  assert.equal(plan.ranges[0].whole, true);
  assert.ok(plan.text.includes("\n    {{_confdRangeMemo0 $dir}}\n"));
  assert.ok(plan.text.startsWith("upstream img_cs_group"));
});

test("bodies that read anything but their pair get no plan", () => {
  const unsafe = [
    '{{range gets "/a/*"}}{{getv "/b"}}{{end}}', // store read
    '{{range gets "/a/*"}}{{getenv "HOME"}}{{end}}', // environment
    '{{$x := 1}}{{range gets "/a/*"}}{{$x}}{{end}}', // outer variable
    '{{range gets "/a/*"}}{{$x := 1}}{{end}}{{$x := 2}}', // same name outside
    '{{range gets "/a/*"}}{{$.x}}{{end}}', // root data
    '{{range gets "/a/*"}}{{template "t" .}}{{end}}',
    '{{range gets "/a/*" -}} {{.Key}}{{end}}', // trim marker at the edge
    '{{range gets "/a/*"}}{{.Key}} {{- end}}',
    '{{range $i, $p := gets "/a/*"}}{{.Key}}{{end}}', // declarations
    '{{range gets "/a/*"}}{{if .Key}}{{break}}{{end}}{{end}}',
  ];
  for (const t of unsafe) assert.equal(planRangeMemo(t, funcs), null, t);
  const safe = '{{range gets "/a/*"}}{{$d := json .Value}}{{printf "%s}}" $d.x}}{{end}}';
  assert.ok(planRangeMemo(safe, funcs));
});

function renderers(text: string, ks: KeySpace): [Renderer, Renderer] {
  const path = join(dir, `t${Math.random().toString(36).slice(2)}.tmpl`);
  writeFileSync(path, text);
  return [new Renderer(path, ks), new Renderer(path, ks, {}, { rangeMemo: false })];
}

function outcome(r: Renderer): string {
  try {
    return `ok:${r.render()}`;
  } catch (err) {
    return `error:${(err as Error).message}`;
  }
}

const TEMPLATES = [
  UPSTREAM,
  // else branch, nested range, with, a variable per iteration, two memoized ranges
  `{{range gets "/registry/pods/default/*"}}{{$d := json .Value}}{{with $d.metadata}}{{.name}}{{range $k, $v := .annotations}} {{$k}}={{$v}}{{end}}{{end}}
{{else}}no pods
{{end}}--{{range gets "/registry/pods/default/*"}}{{base .Key}};{{end}}`,
  // trim markers outside the range: only the body is memoized
  `x
  {{- range gets \`/registry/pods/default/*\` }}{{ $d := json .Value }}{{ len $d.spec.containers }},{{end -}}
  y`,
];

test("the test templates are memoized as intended", () => {
  const whole = TEMPLATES.map((t) => planRangeMemo(t, funcs)?.ranges.map((r) => r.whole));
  assert.deepEqual(whole, [[true], [false, true], [false]]);
});

for (const [n, text] of TEMPLATES.entries()) {
  test(`template ${n}: memoized render equals a full render across 300 random changes`, () => {
    const pods = generatePods(200, 7 + n);
    const data = new Map(pods.map((p) => [p.key, p.value]));
    const ks = new KeySpace(["/registry/pods/default"], "/");
    ks.rebuild(new MapView(data));
    const [memo, full] = renderers(text, ks);
    const r = rng(99 + n);
    const spare = generatePods(400, 1234 + n);
    assert.equal(outcome(memo), outcome(full));
    for (let i = 0; i < 300; i++) {
      const pick = pods[Math.floor(r() * pods.length)].key;
      const roll = r();
      const changed: string[] = [];
      if (roll < 0.4) {
        data.set(pick, spare[i].value); // changed object, maybe another deployment
        changed.push(pick);
      } else if (roll < 0.55) {
        data.delete(pick);
        changed.push(pick);
      } else if (roll < 0.75) {
        data.set(spare[i].key, spare[i].value); // new pod
        changed.push(spare[i].key);
      } else if (roll < 0.8) {
        data.set(pick, '{"metadata": {'); // malformed: both fail the same way
        changed.push(pick);
      } else if (roll < 0.85) {
        data.set(pick, pods[0].value); // back to a value seen before
        changed.push(pick);
      } // else: no change at all
      ks.update(new MapView(data), changed);
      assert.equal(outcome(memo), outcome(full), `change ${i}`);
    }
  });
}

test("after one change, the memoized render executes the body for that pod only", () => {
  const pods = generatePods(50, 3);
  const data = new Map(pods.map((p) => [p.key, p.value]));
  const ks = new KeySpace(["/registry/pods/default"], "/");
  ks.rebuild(new MapView(data));
  const [memo] = renderers(UPSTREAM, ks);
  memo.render();
  let parses = 0;
  const parse = JSON.parse;
  JSON.parse = (...args: Parameters<typeof JSON.parse>) => {
    parses++;
    return parse(...args);
  };
  try {
    data.set(pods[3].key, pods[4].value);
    ks.update(new MapView(data), [pods[3].key]);
    memo.render();
  } finally {
    JSON.parse = parse;
  }
  assert.equal(parses, 1);
});
