// The file (YAML/JSON) and env backends, with confd's key mapping.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EnvBackend, envKey } from "../../src/confd/backends/env.js";
import { FileBackend, loadFiles } from "../../src/confd/backends/file.js";
import { formatFloat } from "../../src/confd/backends/flatten.js";

const dir = mkdtempSync(join(tmpdir(), "confd-file-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("YAML flattens as confd: nested maps, lists by index, scalars as Go prints them, nulls dropped", () => {
  const f = join(dir, "a.yaml");
  writeFileSync(
    f,
    "app:\n  name: web\n  port: 8080\n  ratio: 0.5\n  big: 1e21\n  enabled: yes\n  disabled: false\n  none: null\n  hosts:\n    - h1\n    - h2\n  nested:\n    deep:\n      k: v\n",
  );
  assert.deepEqual(Object.fromEntries(loadFiles([f])), {
    "/app/name": "web",
    "/app/port": "8080",
    "/app/ratio": "0.5",
    "/app/big": "1000000000000000000000",
    "/app/enabled": "true",
    "/app/disabled": "false",
    "/app/hosts/0": "h1",
    "/app/hosts/1": "h2",
    "/app/nested/deep/k": "v",
  });
});

test("JSON files and directories (with -filter) are read; later files win", () => {
  const d = join(dir, "conf");
  mkdirSync(join(d, "sub"), { recursive: true });
  writeFileSync(join(d, "1.json"), '{"x": {"y": "from-json"}, "n": 3}');
  writeFileSync(join(d, "sub", "2.yml"), "x:\n  z: from-yaml\n");
  writeFileSync(join(d, "skip.txt"), "not: read");
  assert.deepEqual(Object.fromEntries(loadFiles([d], "*.[jy]*")), {
    "/x/y": "from-json",
    "/n": "3",
    "/x/z": "from-yaml",
  });
});

test("a bad file is a clear error naming the file", () => {
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "a: [1, 2\n");
  assert.throws(
    () => loadFiles([bad]),
    (e: Error) => e.message.includes(bad) && /cannot parse/.test(e.message),
  );
  assert.throws(() => loadFiles([join(dir, "missing.yaml")]), /missing.yaml: ENOENT/);
});

test("formatFloat never uses an exponent (strconv 'f', -1)", () => {
  assert.equal(formatFloat(1.5e-7), "0.00000015");
  assert.equal(formatFloat(1.25e22), "12500000000000000000000");
  assert.equal(formatFloat(-0.5), "-0.5");
});

test("watched file: an edit reports exactly the changed keys; a broken edit keeps the last good data", async () => {
  const f = join(dir, "watched.yaml");
  writeFileSync(f, "a: 1\nb: 2\n");
  const be = new FileBackend({ files: [f], watch: true, debounceMs: 20, log: () => {} });
  const changes: (string[] | null)[] = [];
  be.onChange((c) => changes.push(c));
  await be.start(["/"]);
  assert.equal(be.view().get("/a"), "1");
  writeFileSync(f, "a: 1\nb: 3\nc: 4\n");
  const end = Date.now() + 10000;
  while (changes.length === 0 && Date.now() < end) await sleep(20);
  assert.deepEqual(changes[0]?.sort(), ["/b", "/c"]);
  assert.equal(be.view().get("/b"), "3");
  writeFileSync(f, "a: [broken\n");
  assert.deepEqual(be.reload(), []);
  assert.equal(be.view().get("/b"), "3");
  assert.match(be.status().lastError ?? "", /cannot parse/);
  await be.close();
});

test("env backend: FOO_BAR -> /foo/bar (confd's mapping)", async () => {
  assert.equal(envKey("FN_TEST_ENV"), "/fn/test/env");
  const be = new EnvBackend({ APP_PORT: "80", APP_HOST_NAME: "h", OTHER: "o" });
  await be.start(["/app"]);
  assert.equal(be.view().get("/app/port"), "80");
  assert.deepEqual(be.view().prefixed("/app"), ["/app/host/name", "/app/port"]);
  assert.equal(be.status().connected, true);
});
