// The store mirror (src/confd/backends/store-mirror.ts) over the real embedded
// SQLite store: snapshot, exact prefixes, incremental events, compaction
// past the watcher's revision, onetime mode. etcd-specific failures (outage,
// revision reset) are in etcd-mirror-outage.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { coveringPrefixes, underPrefix } from "../../src/confd/backends/exact-prefix.js";
import { MirrorView } from "../../src/confd/backends/mirror-view.js";
import { StoreMirror } from "../../src/confd/backends/store-mirror.js";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { until } from "./nginx-harness.js";

const quiet = () => {};

/** Resolve when `cond()` holds, polling; fail after `ms`. */
describe("exact prefixes", () => {
  test("a resource key covers itself and its children, not string siblings", () => {
    assert.ok(underPrefix("/registry/pods/default", "/registry/pods/default"));
    assert.ok(underPrefix("/registry/pods/default/p1", "/registry/pods/default"));
    assert.ok(!underPrefix("/registry/pods/default2", "/registry/pods/default"));
    assert.ok(!underPrefix("/registry/pods/default2/p1", "/registry/pods/default"));
    assert.ok(!underPrefix("/registry/pods/defaultfoo", "/registry/pods/default"));
    assert.ok(underPrefix("/anything", "/"));
  });

  test("prefixes are cleaned like path.Join and covered ones dropped", () => {
    assert.deepEqual(coveringPrefixes(["/a/b/", "//a//b", "/a/b/c", "/ab", "x"]), [
      "/a/b",
      "/ab",
      "/x",
    ]);
    assert.deepEqual(coveringPrefixes(["/", "/a"]), ["/"]);
  });
});

describe("MirrorView", () => {
  test("keeps keys sorted byte-wise through inserts and deletes", () => {
    const v = new MirrorView();
    v.replace(
      new Map([
        ["/p/b", "1"],
        ["/p/a-10", "2"],
        ["/q", "3"],
      ]),
    );
    assert.deepEqual(v.prefixed("/p/"), ["/p/a-10", "/p/b"]);
    assert.equal(v.set("/p/B", "4"), true);
    assert.equal(v.set("/p/a-9", "5"), true);
    assert.equal(v.set("/p/b", "1"), false, "same value is no change");
    assert.deepEqual(v.prefixed("/p/"), ["/p/B", "/p/a-10", "/p/a-9", "/p/b"]);
    assert.equal(v.delete("/p/a-10"), true);
    assert.equal(v.delete("/p/none"), false);
    assert.deepEqual([...v.keys()], ["/p/B", "/p/a-9", "/p/b", "/q"]);
    assert.equal(v.get("/p/a-9"), "5");
  });

  test("byte order, not UTF-16 order, once a key has a supplementary character", () => {
    const v = new MirrorView();
    v.replace(new Map([["/p/\uFFFD", "1"]]));
    v.set("/p/\u{1F600}", "2"); // UTF-8 F0..: after EF BF BD (U+FFFD)
    v.set("/p/a", "3");
    assert.deepEqual(v.prefixed("/p/"), ["/p/a", "/p/\uFFFD", "/p/\u{1F600}"]);
    v.replace(
      new Map([
        ["/p/\u{1F600}", "2"],
        ["/p/\uFFFD", "1"],
      ]),
    );
    assert.deepEqual(v.prefixed("/p/"), ["/p/\uFFFD", "/p/\u{1F600}"]);
  });
});

describe("StoreMirror over the embedded store", () => {
  let dir: string;
  let writer: EmbeddedStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mirror-test-"));
    writer = new EmbeddedStore(dir, { synchronous: "normal" });
  });
  after(async () => {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("snapshot, incremental events, exact prefixes", async () => {
    await writer.put("/registry/pods/default/a", "A");
    await writer.put("/registry/pods/default", "self");
    await writer.put("/registry/pods/default2/x", "sibling");
    const mirror = new StoreMirror(writer, { name: "embedded", watch: true, log: quiet });
    const changes: (string[] | null)[] = [];
    mirror.onChange((c) => changes.push(c));
    await mirror.start(["/registry/pods/default/"]);
    try {
      const v = mirror.view();
      assert.deepEqual([...v.keys()], ["/registry/pods/default", "/registry/pods/default/a"]);
      assert.equal(mirror.status().connected, true);

      await writer.put("/registry/pods/default2/y", "sibling");
      await writer.put("/registry/pods/defaultfoo", "sibling");
      await writer.put("/registry/pods/default/b", "B");
      await until(() => changes.length > 0, 5000, "change");
      assert.deepEqual(changes, [["/registry/pods/default/b"]], "siblings never wake the mirror");
      await writer.delete("/registry/pods/default/a");
      await until(() => changes.length > 1, 5000, "delete");
      assert.deepEqual(changes[1], ["/registry/pods/default/a"]);
      assert.deepEqual(v.prefixed("/registry/pods/default/"), ["/registry/pods/default/b"]);
      assert.equal(mirror.status().revision, await writer.revision());
    } finally {
      await mirror.close();
    }
  });

  test("compaction past the watcher's revision: re-list, null change, resume", async () => {
    // The mirror reads through its own connection, which sees the writer's
    // commits only on its poll, so it can fall behind a compaction.
    const reader = new EmbeddedStore(dir, { synchronous: "normal", pollMs: 200 });
    const mirror = new StoreMirror(reader, {
      name: "embedded",
      watch: true,
      log: quiet,
      ownsStore: true,
    });
    const changes: (string[] | null)[] = [];
    mirror.onChange((c) => changes.push(c));
    await mirror.start(["/c"]);
    try {
      await writer.put("/c/1", "one");
      await writer.put("/c/2", "two");
      await writer.delete("/c/1");
      await writer.compact((await writer.revision()) + 1); // all in one macrotask
      await until(() => changes.includes(null), 10_000, "re-list after compaction");
      assert.deepEqual([...mirror.view().keys()], ["/c/2"]);
      assert.equal(mirror.status().relists, 1);
      // The watch resumed after the re-list.
      await writer.put("/c/3", "three");
      await until(() => mirror.view().get("/c/3") === "three", 10_000, "resume");
      assert.equal(mirror.status().connected, true);
    } finally {
      await mirror.close();
    }
  });

  test("several prefixes: one view, covered prefixes watched once, events from each", async () => {
    await writer.put("/m1/a", "1");
    await writer.put("/m2/x/b", "2");
    await writer.put("/m2/y", "outside");
    const mirror = new StoreMirror(writer, { name: "embedded", watch: true, log: quiet });
    const changes: (string[] | null)[] = [];
    mirror.onChange((c) => changes.push(c));
    await mirror.start(["/m1", "/m2/x", "/m1/a"]);
    try {
      assert.deepEqual([...mirror.view().keys()], ["/m1/a", "/m2/x/b"]);
      await writer.put("/m1/a", "1b");
      await writer.put("/m2/x/c", "3");
      await writer.put("/m2/y", "still outside");
      await until(() => changes.length >= 2, 5000, "both changes");
      assert.deepEqual(changes, [["/m1/a"], ["/m2/x/c"]], "one event each, no duplicates");
      assert.equal(mirror.view().get("/m1/a"), "1b");
    } finally {
      await mirror.close();
    }
  });

  test("onetime mode loads the snapshot and does not watch", async () => {
    await writer.put("/o/k", "v1");
    const mirror = new StoreMirror(writer, { name: "embedded", watch: false, log: quiet });
    let woke = false;
    mirror.onChange(() => {
      woke = true;
    });
    await mirror.start(["/o"]);
    await writer.put("/o/k", "v2");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(mirror.view().get("/o/k"), "v1");
    assert.equal(woke, false);
    await mirror.close();
  });
});
