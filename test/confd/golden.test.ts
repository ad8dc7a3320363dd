// Golden tests against real confd's output (test/fixtures/confd-golden):
// fn.tmpl over kv.json/env.json -> fn.out, and the DomeOS upstream template
// over 12 pods -> upstream-12pods.conf, byte for byte.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MapView } from "../../src/confd/backends/backend.js";
import { Renderer } from "../../src/confd/render/renderer.js";
import { KeySpace } from "../../src/confd/template/key-space.js";
import { CONFD_GOLDEN as GOLDEN } from "../support/fixtures.js";

const readJson = (f: string) =>
  JSON.parse(readFileSync(join(GOLDEN, f), "utf8")) as Record<string, string>;

function keySpaceFor(kvFile: string, key: string): KeySpace {
  const ks = new KeySpace([key], "/");
  ks.rebuild(new MapView(new Map(Object.entries(readJson(kvFile)))));
  return ks;
}

// The producing host mapped localhost only to 127.0.0.1 (README "Host and runtime dependencies").
const resolver = {
  lookupIP: (h: string) => (h === "localhost" ? ["127.0.0.1"] : []),
  lookupSRV: () => [],
};

test("fn.tmpl renders confd's fn.out (reverse on gets deliberately fixed)", () => {
  const ks = keySpaceFor("kv.json", "/fn");
  const env = { ...readJson("env.json") };
  const r = new Renderer(join(GOLDEN, "fn.tmpl"), ks, { env, resolver });
  const expected = readFileSync(join(GOLDEN, "fn.out"), "utf8").replace(
    // confd: `reverse (gets ...)` is a silent no-op; here it reverses (docs/confd.md).
    "reverse kvs: /fn/list/x1 /fn/list/x10 /fn/list/x2",
    "reverse kvs: /fn/list/x2 /fn/list/x10 /fn/list/x1",
  );
  const out = r.render();
  const outLines = out.split("\n");
  const expLines = expected.split("\n");
  for (let i = 0; i < Math.max(outLines.length, expLines.length); i++) {
    assert.equal(outLines[i], expLines[i], `line ${i + 1}`);
  }
  assert.equal(out, expected);
});

test("fn.tmpl: the fixed reverse line is the only difference from confd", () => {
  const ks = keySpaceFor("kv.json", "/fn");
  const r = new Renderer(join(GOLDEN, "fn.tmpl"), ks, { env: readJson("env.json"), resolver });
  const ours = r.render().split("\n");
  const confd = readFileSync(join(GOLDEN, "fn.out"), "utf8").split("\n");
  const differing = ours.map((l, i) => (l === confd[i] ? null : i)).filter((i) => i !== null);
  assert.deepEqual(differing.length, 1);
  assert.match(confd[differing[0] as number], /^reverse kvs:/);
});

test("upstream.tmpl over 12 pods renders upstream-12pods.conf byte for byte", () => {
  const ks = keySpaceFor("pods-12.json", "/registry/pods/default");
  const r = new Renderer(join(GOLDEN, "upstream.tmpl"), ks);
  assert.equal(r.render(), readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"));
});

test("upstream.tmpl: a sibling prefix (/registry/pods/default2) is not selected", () => {
  const pods = readJson("pods-12.json");
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(pods)) extra[k.replace("/default/", "/default2/")] = v;
  const ks = new KeySpace(["/registry/pods/default"], "/");
  ks.rebuild(new MapView(new Map(Object.entries({ ...pods, ...extra }))));
  const r = new Renderer(join(GOLDEN, "upstream.tmpl"), ks);
  assert.equal(r.render(), readFileSync(join(GOLDEN, "upstream-12pods.conf"), "utf8"));
});
