// The backend factory and the embedded backend: domeos-confd following the
// store of a (separate) domeos-server through its data directory.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EnvBackend } from "../../src/confd/backends/env.js";
import { createBackend } from "../../src/confd/backends/index.js";
import { LazyBackend } from "../../src/confd/backends/lazy-backend.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { until } from "./nginx-harness.js";

const PODS = "/registry/pods/default";

test("embedded backend follows a server's data directory", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "confd-embedded-"));
  // What domeos-server does with --data-dir: the store lives in DATA_DIR/store.
  const server = new EmbeddedStore(join(dataDir, "store"), { synchronous: "normal" });
  try {
    await server.put(`${PODS}/p1`, '{"v":1}');
    const b = createBackend({ backend: "embedded", nodes: [dataDir], watch: true, log: () => {} });
    const changes: (string[] | null)[] = [];
    b.onChange((c) => changes.push(c));
    await b.start([PODS]);
    try {
      assert.deepEqual(b.view().prefixed(`${PODS}/`), [`${PODS}/p1`]);
      await server.put(`${PODS}/p2`, '{"v":2}');
      await until(() => changes.length > 0, 5000, "the other connection's write");
      assert.deepEqual(changes[0], [`${PODS}/p2`]);
      assert.equal(b.view().get(`${PODS}/p2`), '{"v":2}');
      assert.equal(b.status().connected, true);
    } finally {
      await b.close();
    }
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("embedded backend refuses a directory without a store (no fresh empty store)", () => {
  const dir = mkdtempSync(join(tmpdir(), "confd-embedded-none-"));
  try {
    assert.throws(
      () => createBackend({ backend: "embedded", nodes: [dir] }),
      /embedded backend: -node ".*": no store\.db in/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("backend names: etcd is etcdv3, unknown ones are refused by name, bad -node is named", () => {
  const notes: string[] = [];
  const b = createBackend({
    backend: "etcd",
    nodes: ["127.0.0.1:1"],
    watch: false,
    log: (_l, m) => notes.push(m),
  });
  assert.equal(b.name, "etcdv3");
  assert.ok(notes.some((n) => /v3 API/.test(n)));
  void b.close();
  assert.throws(
    () => createBackend({ backend: "consul", nodes: [] }),
    /-backend "consul" is not supported/,
  );
  assert.throws(
    () => createBackend({ backend: "etcdv3", nodes: ["ftp://x:1"] }),
    /-node "ftp:\/\/x:1": scheme must be http or https/,
  );
  assert.throws(
    () => createBackend({ backend: "etcdv3", nodes: ["http://h:2379/path"] }),
    /-node "http:\/\/h:2379\/path" is not host:port or a URL/,
  );
});

test("a lazy backend started twice on the same keys loads and starts once (-onetime's early start)", async () => {
  let loads = 0;
  const b = new LazyBackend("env", async () => {
    loads++;
    return new EnvBackend();
  });
  const first = b.start(["/a", "/b"]);
  const again = b.start(["/a", "/b"]);
  assert.equal(again, first, "the second start joins the first");
  await Promise.all([first, again]);
  assert.equal(loads, 1);
  await b.start(["/c"]);
  assert.equal(loads, 2, "other keys: a new start");
  await b.close();
});
