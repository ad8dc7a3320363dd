// The one contract every Store backend passes (embedded SQLite, etcd).
// Each test works under its own key prefix, so a factory may hand out
// stores that share data.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { mergeAnnotations } from "../../src/store/merge.js";
import {
  CompactedError,
  type Store,
  type WatchEvent,
  type WatchHandlers,
} from "../../src/store/store.js";
import { until } from "../support/poll.js";

export interface ContractStore extends Store {
  /** Drop history before `revision` (both backends expose it). */
  compact(revision: number): Promise<void>;
}

export type StoreFactory = () => Promise<ContractStore>;

/** Poll `fn` every 25 ms until it returns true (no fixed sleeps: the machine may be loaded; a throw ends the wait). */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  await until(what, fn, { timeoutMs, intervalMs: 25 });
}

/** A watch that records everything it is told. */
export function recorder() {
  const events: WatchEvent[] = [];
  const batches: number[] = [];
  const errors: Error[] = [];
  const handlers: WatchHandlers = {
    onEvents(evs, revision) {
      events.push(...evs);
      batches.push(revision);
    },
    onError(err) {
      errors.push(err);
    },
  };
  return { events, batches, errors, handlers };
}

const keyOf = (e: WatchEvent) => (e.type === "put" ? e.kv.key : e.key);

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const s = await factory();
      opened.push(s);
      return s;
    };
    const ns = () => `/contract/${randomUUID().slice(0, 8)}/`;
    after(async () => {
      for (const s of opened) await s.close();
    });

    test("get/put: revisions and versions follow etcd", async () => {
      const s = await open();
      const p = ns();
      assert.equal(await s.get(`${p}a`), null);
      const r1 = await s.put(`${p}a`, "one");
      assert.equal(r1.ok, true);
      const kv1 = await s.get(`${p}a`);
      assert.deepEqual(
        { ...kv1 },
        {
          key: `${p}a`,
          value: "one",
          createRevision: r1.revision,
          modRevision: r1.revision,
          version: 1,
        },
      );
      const r2 = await s.put(`${p}a`, "two");
      assert.ok(r2.revision > r1.revision, "every write takes a new revision");
      const kv2 = await s.get(`${p}a`);
      assert.equal(kv2?.value, "two");
      assert.equal(kv2?.createRevision, r1.revision);
      assert.equal(kv2?.modRevision, r2.revision);
      assert.equal(kv2?.version, 2);
      assert.ok((await s.revision()) >= r2.revision);
    });

    test("list: exactly the prefix, sorted by key, at one revision", async () => {
      const s = await open();
      const p = ns();
      await s.put(`${p}b`, "2");
      await s.put(`${p}a`, "1");
      await s.put(`${p}c/d`, "3");
      await s.put(`${p.slice(0, -1)}x`, "outside"); // shares the prefix minus its slash
      const last = await s.put(`${p}e`, "\u00e9\u{1f600}");
      const res = await s.list(p);
      assert.deepEqual(
        res.kvs.map((kv) => [kv.key, kv.value]),
        [
          [`${p}a`, "1"],
          [`${p}b`, "2"],
          [`${p}c/d`, "3"],
          [`${p}e`, "\u00e9\u{1f600}"],
        ],
      );
      assert.ok(res.revision >= last.revision);
      assert.deepEqual((await s.list(`${p}zzz`)).kvs, []);
    });

    test("compare-and-swap put: create-if-absent and mod revision", async () => {
      const s = await open();
      const k = `${ns()}cas`;
      const created = await s.put(k, "v1", { expectModRevision: 0 });
      assert.equal(created.ok, true);
      const again = await s.put(k, "v2", { expectModRevision: 0 });
      assert.equal(again.ok, false, "create-if-absent on an existing key fails");
      assert.equal(again.current?.value, "v1");
      assert.equal(again.current?.modRevision, created.revision);
      const stale = await s.put(k, "v3", { expectModRevision: created.revision + 1000 });
      assert.equal(stale.ok, false);
      assert.equal((await s.get(k))?.value, "v1", "a failed CAS changes nothing");
      const good = await s.put(k, "v4", { expectModRevision: created.revision });
      assert.equal(good.ok, true);
      assert.equal((await s.get(k))?.value, "v4");
      const absent = await s.put(`${k}-absent`, "x", { expectModRevision: 5 });
      assert.equal(absent.ok, false, "CAS on a missing key with a revision fails");
      assert.equal(absent.current, undefined);
    });

    test("delete: unconditional, conditional, absent", async () => {
      const s = await open();
      const p = ns();
      const w = await s.put(`${p}d`, "x");
      const wrong = await s.delete(`${p}d`, { expectModRevision: w.revision + 7 });
      assert.equal(wrong.ok, false);
      assert.equal(wrong.current?.value, "x");
      assert.notEqual(await s.get(`${p}d`), null);
      const right = await s.delete(`${p}d`, { expectModRevision: w.revision });
      assert.equal(right.ok, true);
      assert.ok(right.revision > w.revision);
      assert.equal(await s.get(`${p}d`), null);
      await s.put(`${p}e`, "y");
      assert.equal((await s.delete(`${p}e`)).ok, true);
      assert.equal(await s.get(`${p}e`), null);
      assert.equal(
        (await s.delete(`${p}never`)).ok,
        true,
        "deleting an absent key is not an error",
      );
    });

    test("bad input is rejected with a message naming it, nothing written", async () => {
      const s = await open();
      const before = await s.revision();
      await assert.rejects(s.put("", "x"), /key must be a non-empty string/);
      await assert.rejects(s.put("/k", 5 as unknown as string), /value must be a string/);
      await assert.rejects(
        s.put("/k", "x", { expectModRevision: -1 }),
        /expectModRevision must be an integer >= 0/,
      );
      await assert.rejects(s.grantLease(0), /lease TTL must be an integer >= 1/);
      assert.equal(await s.revision(), before);
    });

    test("watch from a revision replays history, then follows live, with prev values", async () => {
      const s = await open();
      const p = ns();
      const r1 = await s.put(`${p}a`, "1");
      const r2 = await s.put(`${p}a`, "2");
      await s.put(`/elsewhere${p}`, "not watched");
      const r3 = await s.delete(`${p}a`);
      const rec = recorder();
      const w = await s.watch(p, r2.revision, rec.handlers);
      await eventually(() => rec.events.length >= 2, "replayed events");
      const r4 = await s.put(`${p}b`, "live");
      await eventually(() => rec.events.length >= 3, "live event");
      await w.close();
      assert.deepEqual(rec.errors, []);
      const [put2, del, live] = rec.events;
      assert.equal(put2.type, "put");
      assert.equal(put2.type === "put" && put2.kv.value, "2");
      assert.equal(put2.type === "put" && put2.kv.modRevision, r2.revision);
      assert.equal(put2.type === "put" && put2.prev?.value, "1");
      assert.equal(put2.type === "put" && put2.prev?.modRevision, r1.revision);
      assert.deepEqual(
        { type: del.type, key: keyOf(del), rev: del.type === "delete" && del.modRevision },
        { type: "delete", key: `${p}a`, rev: r3.revision },
      );
      assert.equal(del.type === "delete" && del.prev?.value, "2");
      assert.equal(live.type === "put" && live.kv.value, "live");
      assert.deepEqual(rec.batches, [r2.revision, r3.revision, r4.revision]);
      // After close, nothing more arrives.
      await s.put(`${p}c`, "after close");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rec.events.length, 3);
    });

    test("watch from 0 starts now", async () => {
      const s = await open();
      const p = ns();
      await s.put(`${p}old`, "x");
      const rec = recorder();
      const w = await s.watch(p, 0, rec.handlers);
      await s.put(`${p}new`, "y");
      await eventually(() => rec.events.length >= 1, "new event");
      await w.close();
      assert.deepEqual(rec.events.map(keyOf), [`${p}new`]);
    });

    test("list then watch from list.revision+1 misses nothing", async () => {
      const s = await open();
      const p = ns();
      for (let i = 0; i < 5; i++) await s.put(`${p}${i}`, String(i));
      const listed = await s.list(p);
      const writes = Promise.all([s.put(`${p}x`, "x"), s.delete(`${p}0`)]);
      const rec = recorder();
      const w = await s.watch(p, listed.revision + 1, rec.handlers);
      await writes;
      await eventually(() => rec.events.length >= 2, "both writes");
      await w.close();
      assert.deepEqual(rec.events.map(keyOf).sort(), [`${p}0`, `${p}x`]);
    });

    test("compaction: watching a compacted revision ends with CompactedError", async () => {
      const s = await open();
      const p = ns();
      const r1 = await s.put(`${p}k`, "1");
      await s.put(`${p}k`, "2");
      const r3 = await s.put(`${p}k`, "3");
      await s.compact(r3.revision);
      const rec = recorder();
      const w = await s.watch(p, r1.revision, rec.handlers);
      await eventually(() => rec.errors.length === 1, "CompactedError");
      await w.close();
      const err = rec.errors[0];
      assert.ok(err instanceof CompactedError, `got ${err}`);
      assert.ok(err.compactRevision >= r3.revision, `compactRevision ${err.compactRevision}`);
      assert.equal(rec.events.length, 0);
      // From the compaction revision itself history is still there.
      const ok = recorder();
      const w2 = await s.watch(p, r3.revision, ok.handlers);
      await eventually(() => ok.events.length === 1, "event at compact revision");
      await w2.close();
      assert.deepEqual(ok.errors, []);
    });

    test("leases: keys die with their lease, with delete events; keepAlive and revoke", async () => {
      const s = await open();
      const p = ns();
      const rec = recorder();
      const w = await s.watch(p, 0, rec.handlers);
      const short = await s.grantLease(1);
      await s.put(`${p}short`, "x", { lease: short.id });
      assert.equal((await s.get(`${p}short`))?.lease, short.id);
      const kept = await s.grantLease(3);
      await s.put(`${p}kept`, "y", { lease: kept.id });
      await eventually(
        async () => (await s.get(`${p}short`)) === null,
        "short lease expiry",
        20_000,
      );
      await eventually(
        () => rec.events.some((e) => e.type === "delete" && e.key === `${p}short`),
        "delete event for the expired key",
      );
      await assert.rejects(short.keepAlive(), /lease .*not found/, "an expired lease stays dead");
      await kept.keepAlive();
      assert.notEqual(await s.get(`${p}kept`), null, "renewed lease keeps its key");
      await kept.revoke();
      assert.equal(await s.get(`${p}kept`), null, "revoke deletes at once");
      await eventually(
        () => rec.events.some((e) => e.type === "delete" && e.key === `${p}kept`),
        "delete event for the revoked key",
      );
      await assert.rejects(s.put(`${p}late`, "z", { lease: kept.id }), /lease/i);
      assert.equal(await s.get(`${p}late`), null);
      await w.close();
    });

    test("100 concurrent annotation merges into one pod: all present", async () => {
      const s = await open();
      const key = `${ns()}pod`;
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "pod", namespace: "default", annotations: { deployName: "web" } },
        status: { podIP: "10.0.0.1" },
      };
      await s.put(key, JSON.stringify(pod));
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          mergeAnnotations(s, key, { [`AUTO_PORT${i}`]: String(20000 + i) }, { maxRetries: 1000 }),
        ),
      );
      const stored = JSON.parse((await s.get(key))!.value);
      const ann = stored.metadata.annotations;
      for (let i = 0; i < 100; i++) assert.equal(ann[`AUTO_PORT${i}`], String(20000 + i));
      assert.equal(ann.deployName, "web");
      assert.equal(stored.status.podIP, "10.0.0.1");
      const final = (await s.get(key))!;
      assert.ok(final.version <= 101, "at most one write per merge");
      assert.ok(results.every((r) => r.changed && r.revision <= final.modRevision));
    });
  });
}

/** A store of pods as the Kubernetes adapter sees them, with the kubelet's part. */
export interface PodStoreFixture {
  store: Store;
  /** Create or replace a pod (the kubelet/scheduler; through the store where it can). */
  createPod(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Drop all history up to now (etcd compaction). */
  compactAll(): Promise<void>;
}

/**
 * The contract of the pod keys every backend serves, the Kubernetes API
 * adapter included: pods under /registry/pods/{ns}/{name}, annotation
 * writes with compare-and-swap, deletes with a precondition, list at one
 * revision then watch from list.revision + 1, compaction. Revisions are only
 * compared and given back (watch from R + 1), as callers do; on Kubernetes
 * they stand for opaque resourceVersions.
 */
export function podStoreContract(name: string, open: () => Promise<PodStoreFixture>): void {
  describe(`Pod store contract: ${name}`, () => {
    let fx: PodStoreFixture;
    const nsName = () => `c-${randomUUID().slice(0, 8)}`;
    const keyOfPod = (ns: string, pod: string) => `/registry/pods/${ns}/${pod}`;
    const annotationsOf = (v: string) =>
      (JSON.parse(v) as { metadata: { annotations?: Record<string, string> } }).metadata
        .annotations ?? {};
    const withAnnotations = (v: string, a: Record<string, string>) => {
      const pod = JSON.parse(v) as { metadata: Record<string, unknown> };
      pod.metadata.annotations = a;
      return JSON.stringify(pod);
    };
    before(async () => {
      fx = await open();
    });
    after(async () => {
      await fx.store.close();
    });

    test("get and list: pods of a namespace, sorted, at one revision", async () => {
      const ns = nsName();
      await fx.createPod(ns, "b", { deployName: "web" });
      await fx.createPod(ns, "a", { deployName: "web" });
      await fx.createPod(`${ns}x`, "a", {}); // shares the prefix minus its slash
      const a = await fx.store.get(keyOfPod(ns, "a"));
      assert.equal(JSON.parse(a!.value).metadata.name, "a");
      assert.equal(await fx.store.get(keyOfPod(ns, "nope")), null);
      const res = await fx.store.list(`/registry/pods/${ns}/`);
      assert.deepEqual(
        res.kvs.map((kv) => kv.key),
        [keyOfPod(ns, "a"), keyOfPod(ns, "b")],
      );
      for (const kv of res.kvs) assert.ok(kv.modRevision <= res.revision);
      assert.ok((await fx.store.revision()) >= res.revision);
    });

    test("annotation writes: compare-and-swap on the mod revision, a failed CAS changes nothing", async () => {
      const ns = nsName();
      const key = keyOfPod(ns, "p");
      await fx.createPod(ns, "p", { keep: "1", drop: "2" });
      const cur = (await fx.store.get(key))!;
      const created = await fx.store.put(key, withAnnotations(cur.value, { x: "1" }), {
        expectModRevision: 0,
      });
      assert.equal(created.ok, false, "create-if-absent on an existing pod fails");
      const ok = await fx.store.put(key, withAnnotations(cur.value, { keep: "1", added: "3" }), {
        expectModRevision: cur.modRevision,
      });
      assert.equal(ok.ok, true);
      assert.ok(ok.revision > cur.modRevision, "a write takes a new revision");
      const now = (await fx.store.get(key))!;
      assert.deepEqual(annotationsOf(now.value), { keep: "1", added: "3" });
      assert.equal(now.modRevision, ok.revision);
      const stale = await fx.store.put(key, withAnnotations(cur.value, { stale: "1" }), {
        expectModRevision: cur.modRevision,
      });
      assert.equal(stale.ok, false);
      assert.equal(stale.current?.modRevision, now.modRevision);
      assert.deepEqual(annotationsOf((await fx.store.get(key))!.value), { keep: "1", added: "3" });
    });

    test("delete with a precondition", async () => {
      const ns = nsName();
      const key = keyOfPod(ns, "d");
      await fx.createPod(ns, "d", {});
      const cur = (await fx.store.get(key))!;
      await mergeAnnotations(fx.store, key, { moved: "on" });
      const wrong = await fx.store.delete(key, { expectModRevision: cur.modRevision });
      assert.equal(wrong.ok, false);
      assert.notEqual(await fx.store.get(key), null);
      const now = (await fx.store.get(key))!;
      assert.equal((await fx.store.delete(key, { expectModRevision: now.modRevision })).ok, true);
      assert.equal(await fx.store.get(key), null);
      assert.equal((await fx.store.delete(key)).ok, true, "deleting an absent pod is no error");
    });

    test("list, then watch from list.revision + 1: every later change, in rising batches", async () => {
      const ns = nsName();
      const prefix = `/registry/pods/${ns}/`;
      await fx.createPod(ns, "a", { v: "0" });
      const listed = await fx.store.list(prefix);
      const rec = recorder();
      const writes = (async () => {
        await mergeAnnotations(fx.store, keyOfPod(ns, "a"), { v: "1" });
        await fx.createPod(ns, "b", {});
        await fx.store.delete(keyOfPod(ns, "a"));
      })();
      const w = await fx.store.watch(prefix, listed.revision + 1, rec.handlers);
      await writes;
      await eventually(() => rec.events.length >= 3, "the three changes");
      await w.close();
      assert.deepEqual(rec.errors, []);
      assert.deepEqual(
        rec.events.map((e) => [e.type, keyOf(e)]),
        [
          ["put", keyOfPod(ns, "a")],
          ["put", keyOfPod(ns, "b")],
          ["delete", keyOfPod(ns, "a")],
        ],
      );
      const first = rec.events[0]!;
      assert.equal(first.type === "put" && annotationsOf(first.kv.value).v, "1");
      assert.ok(rec.batches.every((b) => b > listed.revision));
      assert.ok(
        rec.batches.every((b, i) => i === 0 || b > rec.batches[i - 1]!),
        `${rec.batches}`,
      );
      // After close, nothing more arrives.
      await fx.createPod(ns, "after", {});
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rec.events.length, 3);
    });

    test("watch from 0 starts now", async () => {
      const ns = nsName();
      await fx.createPod(ns, "old", {});
      const rec = recorder();
      const w = await fx.store.watch(`/registry/pods/${ns}/`, 0, rec.handlers);
      await fx.createPod(ns, "new", {});
      await eventually(() => rec.events.length >= 1, "the new pod");
      await w.close();
      assert.deepEqual(rec.events.map(keyOf), [keyOfPod(ns, "new")]);
    });

    test("compaction: a watch from before it ends with CompactedError; re-list and watch again", async () => {
      const ns = nsName();
      const prefix = `/registry/pods/${ns}/`;
      const before = await fx.store.list(prefix);
      await fx.createPod(ns, "k", { v: "1" });
      await mergeAnnotations(fx.store, keyOfPod(ns, "k"), { v: "2" });
      await fx.compactAll();
      const rec = recorder();
      const w = await fx.store.watch(prefix, before.revision + 1, rec.handlers);
      await eventually(() => rec.errors.length === 1, "CompactedError");
      await w.close();
      assert.ok(rec.errors[0] instanceof CompactedError, `got ${rec.errors[0]}`);
      assert.equal(rec.events.length, 0);
      const again = await fx.store.list(prefix);
      assert.equal(annotationsOf(again.kvs[0]!.value).v, "2");
      const ok = recorder();
      const w2 = await fx.store.watch(prefix, again.revision + 1, ok.handlers);
      await mergeAnnotations(fx.store, keyOfPod(ns, "k"), { v: "3" });
      await eventually(() => ok.events.length === 1, "the change after the re-list");
      await w2.close();
      assert.deepEqual(ok.errors, []);
    });

    test("100 concurrent annotation merges into one pod: all present", async () => {
      const ns = nsName();
      const key = keyOfPod(ns, "pod");
      await fx.createPod(ns, "pod", { deployName: "web" });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          mergeAnnotations(
            fx.store,
            key,
            { [`AUTO_PORT${i}`]: String(20000 + i) },
            { maxRetries: 1000 },
          ),
        ),
      );
      const ann = annotationsOf((await fx.store.get(key))!.value);
      for (let i = 0; i < 100; i++) assert.equal(ann[`AUTO_PORT${i}`], String(20000 + i));
      assert.equal(ann.deployName, "web");
    });

    test("bad input is rejected with a message naming it", async () => {
      await assert.rejects(fx.store.put("", "x"), /key must be a non-empty string/);
      await assert.rejects(
        fx.store.put(keyOfPod("default", "x"), "{}", { expectModRevision: -1 }),
        /expectModRevision must be an integer >= 0/,
      );
    });
  });
}
