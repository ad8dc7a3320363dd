// The example templates route only to Ready pods that are not being deleted
// (status.conditions has {type: Ready, status: "True"}, no
// metadata.deletionTimestamp); a pod with no conditions at all (an older
// server) is routed as before. The per-pod body was run through Go 1.19's
// text/template (test/fixtures/gotmpl/oracle) to record
// fixtures/ready-template.expected.json; this engine must agree. The seed's
// own template (fixtures) is untouched: golden.test.ts still renders it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { confdFuncs } from "../../src/confd/funcs/index.js";
import { planRangeMemo } from "../../src/confd/render/range-memo.js";
import { Renderer } from "../../src/confd/render/renderer.js";
import { keySpaceFromObject } from "../../src/confd/template/key-space.js";
import { Template } from "../../src/gotemplate/index.js";
import { ROOT } from "./nginx-harness.js";

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

const FIXTURES = join(ROOT, "test/confd/fixtures");
const TEMPLATES = [
  join(ROOT, "examples/confd/templates/upstream.tmpl"),
  join(ROOT, "examples/confd-demo/templates/upstream.tmpl"),
];

test("the readiness body behaves as Go 1.19's text/template (oracle fixtures)", () => {
  const cases = JSON.parse(
    readFileSync(join(FIXTURES, "ready-template.cases.json"), "utf8"),
  ) as Case[];
  const expected = JSON.parse(
    readFileSync(join(FIXTURES, "ready-template.expected.json"), "utf8"),
  ) as Expected[];
  assert.equal(cases.length, expected.length);
  cases.forEach((c, i) => {
    const want = expected[i];
    const t = new Template(c.name);
    t.parse(c.template);
    let got: string | null = null;
    let error: string | null = null;
    try {
      got = t.execute(c.data);
    } catch (err) {
      error = (err as Error).message;
    }
    if (want.error === null) assert.equal(got, want.output, c.name);
    else assert.ok(error !== null, `${c.name}: Go fails (${want.error}), this engine did not`);
  });
});

test("both example templates carry the same body as the fixtures and keep the per-pod memo", () => {
  const cases = JSON.parse(
    readFileSync(join(FIXTURES, "ready-template.cases.json"), "utf8"),
  ) as Case[];
  const body = cases[0].template.replace("{{$data := .}}", "");
  for (const path of TEMPLATES) {
    const text = readFileSync(path, "utf8");
    assert.ok(text.includes(body), `${path} has the fixtures' body`);
    const ks = keySpaceFromObject({});
    assert.ok(
      planRangeMemo(text, confdFuncs(ks).funcs) !== null,
      `${path}: the range is still memoized per pod`,
    );
  }
});

test("rendered from the store: ready and legacy pods routed; not ready, deleting, other conditions not", () => {
  const pod = (ip: string, status: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
    JSON.stringify({
      metadata: {
        ...meta,
        annotations: { accessType: "DIY", deployName: "img-host-test", AUTO_PORT0: "80" },
      },
      status: { podIP: ip, ...status },
    });
  const ready = [{ type: "Ready", status: "True" }];
  for (const path of TEMPLATES) {
    const ks = keySpaceFromObject({
      "/registry/pods/default/a": pod("10.0.0.1", { conditions: ready }),
      "/registry/pods/default/b": pod("10.0.0.2", {
        conditions: [{ type: "Ready", status: "False" }],
      }),
      "/registry/pods/default/c": pod("10.0.0.3", {}),
      "/registry/pods/default/d": pod(
        "10.0.0.4",
        { conditions: ready },
        { deletionTimestamp: "2026-12-07T01:00:00Z" },
      ),
      "/registry/pods/default/e": pod("10.0.0.5", {
        conditions: [{ type: "PodScheduled", status: "True" }],
      }),
    });
    const out = new Renderer(path, ks).render();
    const servers = [...out.matchAll(/server (10\.0\.0\.\d):80 /g)].map((m) => m[1]);
    assert.deepEqual(servers, ["10.0.0.1", "10.0.0.3"], path);
    assert.match(out, /server 127\.0\.0\.1:1 down;/);
  }
});
