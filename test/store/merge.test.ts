// mergeAnnotations beyond the contract's concurrency test: errors that name
// the pod, removal with null, no write when nothing changes, retry counts.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import {
  InvalidPodError,
  MergeConflictError,
  mergeAnnotations,
  PodNotFoundError,
} from "../../src/store/merge.js";
import type { PutOptions, WriteResult } from "../../src/store/store.js";

const dir = mkdtempSync(join(tmpdir(), "store-merge-"));
const store = new EmbeddedStore(dir);
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
const key = "/registry/pods/default/p";

test("merge adds, replaces and removes (null); other fields untouched", async () => {
  await store.put(key, JSON.stringify({ metadata: { name: "p" }, status: { podIP: "1.2.3.4" } }));
  const r1 = await mergeAnnotations(store, key, { a: "1", b: "2" });
  assert.deepEqual({ changed: r1.changed, retries: r1.retries }, { changed: true, retries: 0 });
  await mergeAnnotations(store, key, { a: "9", b: null });
  const pod = JSON.parse((await store.get(key))!.value);
  assert.deepEqual(pod.metadata.annotations, { a: "9" });
  assert.equal(pod.status.podIP, "1.2.3.4");
});

test("no write when every annotation already has its value", async () => {
  const before = (await store.get(key))!;
  const r = await mergeAnnotations(store, key, { a: "9", gone: null });
  assert.equal(r.changed, false);
  assert.equal(r.revision, before.modRevision);
  assert.equal((await store.get(key))!.version, before.version);
});

test("errors name the pod; bad patches change nothing", async () => {
  await assert.rejects(
    mergeAnnotations(store, "/registry/pods/default/none", { a: "1" }),
    (e: Error) => {
      assert.ok(e instanceof PodNotFoundError);
      assert.match(e.message, /pod \/registry\/pods\/default\/none not found/);
      return true;
    },
  );
  await store.put("/registry/pods/default/bad", "not json");
  await assert.rejects(
    mergeAnnotations(store, "/registry/pods/default/bad", { a: "1" }),
    InvalidPodError,
  );
  await store.put("/registry/pods/default/arr", "[1]");
  await assert.rejects(
    mergeAnnotations(store, "/registry/pods/default/arr", { a: "1" }),
    /not a JSON object/,
  );
  const rev = await store.revision();
  await assert.rejects(
    mergeAnnotations(store, key, { a: 5 as unknown as string }),
    /annotation "a" must be a string/,
  );
  await assert.rejects(
    mergeAnnotations(store, key, null as unknown as Record<string, string>),
    /patch must be an object/,
  );
  assert.equal(await store.revision(), rev);
});

test("conflicts are retried and counted; maxRetries bounds them", async () => {
  // A store whose first N compare-and-swaps lose to a concurrent writer.
  let losses = 3;
  const racy = Object.create(store) as EmbeddedStore;
  racy.put = async (k: string, v: string, o?: PutOptions): Promise<WriteResult> => {
    if (o?.expectModRevision !== undefined && losses-- > 0) {
      await store.put(k, (await store.get(k))!.value); // someone else writes first
    }
    return store.put(k, v, o);
  };
  const r = await mergeAnnotations(racy, key, { c: "3" });
  assert.equal(r.retries, 3);
  assert.equal(JSON.parse((await store.get(key))!.value).metadata.annotations.c, "3");
  losses = 100;
  await assert.rejects(
    mergeAnnotations(racy, key, { d: "4" }, { maxRetries: 2 }),
    MergeConflictError,
  );
  assert.equal(JSON.parse((await store.get(key))!.value).metadata.annotations.d, undefined);
});

test("concurrent merges into one pod share writes (group commit), none lost", async () => {
  const k = "/registry/pods/default/hot";
  await store.put(k, JSON.stringify({ metadata: { name: "hot" } }));
  const v0 = (await store.get(k))!.version;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => mergeAnnotations(store, k, { [`p${i}`]: `${i}` })),
  );
  const kv = (await store.get(k))!;
  const ann = JSON.parse(kv.value).metadata.annotations;
  for (let i = 0; i < 100; i++) assert.equal(ann[`p${i}`], `${i}`);
  assert.ok(kv.version - v0 <= 3, `100 merges took ${kv.version - v0} writes`);
  // Same annotation in one round: the later call wins, as if run one after another.
  await Promise.all([
    mergeAnnotations(store, k, { x: "first" }),
    mergeAnnotations(store, k, { x: "second" }),
  ]);
  assert.equal(JSON.parse((await store.get(k))!.value).metadata.annotations.x, "second");
  // A failed round fails every caller in it.
  const missing = "/registry/pods/default/missing";
  const rs = await Promise.allSettled([
    mergeAnnotations(store, missing, { a: "1" }),
    mergeAnnotations(store, missing, { b: "2" }),
  ]);
  assert.deepEqual(
    rs.map((r) => r.status),
    ["rejected", "rejected"],
  );
});

test("two store connections merging into one pod: compare-and-swap keeps every update", async () => {
  const k = "/registry/pods/default/shared";
  await store.put(k, JSON.stringify({ metadata: { name: "shared" } }));
  const other = new EmbeddedStore(dir);
  try {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        mergeAnnotations(i % 2 ? other : store, k, { [`s${i}`]: `${i}` }),
      ),
    );
  } finally {
    await other.close();
  }
  const ann = JSON.parse((await store.get(k))!.value).metadata.annotations;
  for (let i = 0; i < 60; i++) assert.equal(ann[`s${i}`], `${i}`);
});
