// Batched compare-and-swap on a real etcd: CAS puts to different keys issued
// together travel as ONE transaction of nested per-key transactions
// (src/store/etcd/cas-batcher.ts). These tests pin down what that relies
// on: each nested transaction succeeds or fails on its own, a failed one
// returns the key's current value, the successful ones share one revision,
// and etcd's limits (one write per key per transaction, --max-txn-ops) are
// respected.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { etcdWithStore } from "../support/etcd.js";

const live = etcdWithStore();
const etcd = live.etcd;

const batches = () => live.store.casBatcher!.stats.batches;

describe("etcd batched compare-and-swap (nested transactions)", () => {
  test("each key's CAS succeeds or fails on its own inside one transaction", async () => {
    const p = "/t/batch/mixed/";
    const revs: number[] = [];
    for (let i = 0; i < 40; i++) revs.push((await live.store.put(`${p}${i}`, `v${i}`)).revision);
    const before = batches();
    // i % 4: 0 current revision (wins), 1 stale revision (loses), 2 create-if-absent
    // on an existing key (loses), 3 create-if-absent on a new key (wins).
    const expectOf = (i: number) => [revs[i]!, revs[i]! - 1, 0, 0][i % 4]!;
    const keyOf = (i: number) => (i % 4 === 3 ? `${p}new-${i}` : `${p}${i}`);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        live.store.put(keyOf(i), `w${i}`, { expectModRevision: expectOf(i) }),
      ),
    );
    assert.equal(batches() - before, 1, "40 keys put together: one transaction");
    const writtenAt = results.find((r) => r.ok)!.revision;
    for (let i = 0; i < 40; i++) {
      const r = results[i]!;
      const kv = await live.store.get(keyOf(i));
      if (i % 4 === 0 || i % 4 === 3) {
        assert.equal(r.ok, true, `key ${i} should be written`);
        assert.equal(r.revision, writtenAt, "all writes of the batch share one revision");
        assert.equal(kv!.value, `w${i}`);
        assert.equal(kv!.modRevision, writtenAt);
        assert.equal(kv!.version, i % 4 === 3 ? 1 : 2);
      } else {
        assert.equal(r.ok, false, `key ${i} should be refused`);
        assert.equal(kv!.value, `v${i}`, "a failed CAS writes nothing");
        assert.deepEqual(r.current, kv, "a failed CAS returns the current value");
        assert.ok(r.revision >= writtenAt);
      }
    }
  });

  test("a key that does not exist: CAS on a revision fails with no current value", async () => {
    const [a, b] = await Promise.all([
      live.store.put("/t/batch/absent/a", "x", { expectModRevision: 5 }),
      live.store.put("/t/batch/absent/b", "y", { expectModRevision: 0 }),
    ]);
    assert.equal(a.ok, false);
    assert.equal(a.current, undefined);
    assert.equal(await live.store.get("/t/batch/absent/a"), null);
    assert.equal(b.ok, true);
  });

  test("two CAS puts on one key at once: the first called wins, the second sees its value", async () => {
    const { revision } = await live.store.put("/t/batch/dup", "start");
    const rs = await Promise.all(
      ["one", "two"].map((v) => live.store.put("/t/batch/dup", v, { expectModRevision: revision })),
    );
    assert.deepEqual(
      rs.map((r) => r.ok),
      [true, false],
    );
    assert.equal(rs[1]!.current!.value, "one");
    assert.equal(rs[1]!.current!.modRevision, rs[0]!.revision);
    assert.equal((await live.store.get("/t/batch/dup"))!.value, "one");
  });

  test("leases and large values go through the batch", async () => {
    const lease = await live.store.grantLease(30);
    const big = "x".repeat(300_000);
    const rs = await Promise.all([
      live.store.put("/t/batch/leased", "l", { expectModRevision: 0, lease: lease.id }),
      ...[1, 2, 3, 4].map((i) =>
        live.store.put(`/t/batch/big/${i}`, big, { expectModRevision: 0 }),
      ),
    ]);
    assert.ok(rs.every((r) => r.ok));
    assert.equal((await live.store.get("/t/batch/leased"))!.lease, lease.id);
    for (const i of [1, 2, 3, 4])
      assert.equal((await live.store.get(`/t/batch/big/${i}`))!.value, big);
    await lease.revoke();
    assert.equal(await live.store.get("/t/batch/leased"), null);
  });

  test("a watcher sees one batch as one revision, large responses intact", async () => {
    const p = "/t/batch/watched/";
    const values = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(20_000, String(i % 10)));
    await Promise.all(values.map((_, i) => live.store.put(`${p}${i}`, "old")));
    const seen: { revision: number; keys: string[]; values: string[]; prev: string[] }[] = [];
    const w = await live.store.watch(p, 0, {
      onEvents: (events, revision) =>
        seen.push({
          revision,
          keys: events.map((e) => (e.type === "put" ? e.kv.key : e.key)),
          values: events.map((e) => (e.type === "put" ? e.kv.value : "")),
          prev: events.map((e) => e.prev?.value ?? ""),
        }),
      onError: () => {},
    });
    try {
      const revs = (await Promise.all(values.map((_, i) => live.store.get(`${p}${i}`)))).map(
        (kv) => kv!.modRevision,
      );
      const rs = await Promise.all(
        values.map((v, i) => live.store.put(`${p}${i}`, v, { expectModRevision: revs[i]! })),
      );
      assert.ok(rs.every((r) => r.ok && r.revision === rs[0]!.revision));
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(seen.length, 1, "one revision, one batch of events");
      assert.equal(seen[0]!.revision, rs[0]!.revision);
      assert.deepEqual([...seen[0]!.keys].sort(), values.map((_, i) => `${p}${i}`).sort());
      const byKey = new Map(seen[0]!.keys.map((k, j) => [k, seen[0]!.values[j]]));
      for (const [i, v] of values.entries()) assert.equal(byKey.get(`${p}${i}`), v);
      assert.ok(
        seen[0]!.prev.every((x) => x === "old"),
        "previous values delivered",
      );
    } finally {
      await w.close();
    }
  });

  test("more keys than etcd's --max-txn-ops: batches shrink, every write lands", async () => {
    const s = new EtcdStore({ endpoints: [etcd.endpoint], batchMaxOps: 300 });
    try {
      const rs = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          s.put(`/t/batch/many/${i}`, `m${i}`, { expectModRevision: 0 }),
        ),
      );
      assert.ok(rs.every((r) => r.ok));
      assert.equal((await s.list("/t/batch/many/")).kvs.length, 300);
      assert.ok(s.casBatcher!.stats.batches >= 3, `${s.casBatcher!.stats.batches} batches`);
    } finally {
      await s.close();
    }
  });

  test("batching off: the same results through one etcd3 transaction per put", async () => {
    const s = new EtcdStore({ endpoints: [etcd.endpoint], batchCas: false });
    try {
      assert.equal(s.casBatcher, null);
      const { revision } = await s.put("/t/batch/off", "a");
      assert.equal((await s.put("/t/batch/off", "b", { expectModRevision: revision })).ok, true);
      const stale = await s.put("/t/batch/off", "c", { expectModRevision: revision });
      assert.equal(stale.ok, false);
      assert.equal(stale.current!.value, "b");
    } finally {
      await s.close();
    }
  });
});
