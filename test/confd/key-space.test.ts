// KeySpace fast paths: visible keys of already clean paths and the reuse of
// a view's sorted key order must match path.Join and a byte-wise sort.

import assert from "node:assert/strict";
import { test } from "node:test";
import { rng } from "../../bench/confd-pods.js";
import { MapView } from "../../src/confd/backends/backend.js";
import { KeySpace } from "../../src/confd/template/key-space.js";
import { join } from "../../src/golib/path.js";
import { compareBytes } from "../../src/gotemplate/value.js";

const PIECES = ["a", "b", ".", "..", "", "...", ".x", "é", "😀", "z"];

function randomKey(r: () => number): string {
  const n = 1 + Math.floor(r() * 5);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(PIECES[Math.floor(r() * PIECES.length)]);
  return (r() < 0.7 ? "/" : "") + parts.join("/") + (r() < 0.1 ? "/" : "");
}

test("visibleKey equals path.Join('/', key without prefix) for messy keys", () => {
  const r = rng(5);
  for (const prefix of ["/", "/a", "/a/"]) {
    const ks = new KeySpace([prefix], prefix);
    for (let i = 0; i < 2000; i++) {
      const raw = prefix + randomKey(r);
      const rest = raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
      assert.equal(ks.visibleKey(raw), join("/", rest), raw);
    }
  }
});

test("rebuild keeps keys sorted byte-wise whatever the view's order", () => {
  const keys = ["/p/b", "/p/a", "/p/😀", "/p/\uffff", "/p/a/./c", "/p/a/c", "/q/x", "/p"];
  for (const order of [keys, [...keys].sort(), [...keys].sort(compareBytes)]) {
    const ks = new KeySpace(["/p", "/q"], "/");
    ks.rebuild(new MapView(new Map(order.map((k) => [k, k]))));
    const got = ks.sortedKeys();
    assert.deepEqual(got, [...got].sort(compareBytes));
    assert.equal(got.length, new Set(got).size);
  }
});
