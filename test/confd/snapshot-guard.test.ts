// The guard that knows a scale-down from a broken view, on a real etcd:
// deletions that arrive as watch events apply at once (100% included); a
// snapshot after a compaction or a revision reset that drops most keys, or an
// empty read, is held for a confirming re-read (applied when confirmed, never
// held forever); a snapshot whose prefixes disagree is never applied.
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sameKeys, suspicion } from "../../src/confd/backends/snapshot-guard.js";
import { StoreMirror } from "../../src/confd/backends/store-mirror.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { type EtcdServer, etcdWithStore } from "../support/etcd.js";
import { EtcdProxy } from "./etcd-proxy.js";
import { until } from "./nginx-harness.js";

const PODS = "/registry/pods/guard";

function mirror(
  endpoint: string,
  logs: string[],
  guard = { maxLoss: 0.5, confirmDelayMs: 400, maxHoldMs: 5000 },
): StoreMirror {
  return new StoreMirror(new EtcdStore({ endpoints: [endpoint] }), {
    name: "etcdv3",
    watch: true,
    ownsStore: true,
    log: (level, msg) => logs.push(`${level} ${msg}`),
    snapshotGuard: guard,
  });
}

const keysOf = (b: StoreMirror) => b.view().prefixed(`${PODS}/`);

async function wipe(etcd: EtcdServer): Promise<void> {
  await etcd.stop();
  for (const f of readdirSync(etcd.dataDir)) rmSync(join(etcd.dataDir, f), { recursive: true });
}

test("suspicion: a large loss or an empty read, only from a snapshot", () => {
  assert.equal(suspicion(10, 6, 0.5), null, "40% lost: fine");
  assert.match(suspicion(10, 4, 0.5) ?? "", /drops 6 of 10 keys \(60% > max-line-loss 0\.5\)/);
  assert.match(suspicion(10, 0, 0.5) ?? "", /empty read \(the view has 10 keys\)/);
  assert.match(suspicion(undefined, 0, 0.5) ?? "", /^empty read$/, "an empty first read");
  assert.equal(suspicion(undefined, 5, 0.5), null, "a first read with keys");
  assert.equal(suspicion(0, 0, 0.5), null, "empty before, empty now");
  assert.equal(suspicion(10, 0, 1), null, "1 disables the guard");
  assert.ok(sameKeys(new Map([["a", "1"]]), new Map([["a", "2"]])));
  assert.ok(!sameKeys(new Map([["a", "1"]]), new Map([["b", "1"]])));
});

describe("snapshot guard against a real etcd", () => {
  const live = etcdWithStore();

  test("a 100% scale-down through watch deletes applies at once, never held", async () => {
    for (let i = 0; i < 12; i++) await live.store.put(`${PODS}/s${i}`, `v${i}`);
    const logs: string[] = [];
    const b = mirror(live.etcd.endpoint, logs);
    await b.start([PODS]);
    try {
      assert.equal(keysOf(b).length, 12);
      for (let i = 0; i < 12; i++) await live.store.delete(`${PODS}/s${i}`);
      await until(() => keysOf(b).length === 0, 5000, "the scale-down to reach the view");
      assert.equal(b.status().holds, 0, logs.join("\n"));
      assert.ok(!logs.some((l) => /holding/.test(l)));
    } finally {
      await b.close();
    }
  });

  test("compaction behind a partition that drops most keys: held, re-read, applied when confirmed", async () => {
    const proxy = new EtcdProxy(live.etcd.clientPort);
    await proxy.start();
    for (let i = 0; i < 10; i++) await live.store.put(`${PODS}/c${i}`, `v${i}`);
    const logs: string[] = [];
    const b = mirror(proxy.endpoint, logs);
    const sizes: number[] = [];
    b.onChange(() => sizes.push(keysOf(b).length));
    await b.start([PODS]);
    try {
      proxy.partition();
      await until(() => !b.status().connected, 5000, "the partition to show");
      for (let i = 2; i < 10; i++) await live.store.delete(`${PODS}/c${i}`);
      const r = await live.store.put(`${PODS}/c0`, "v0b");
      await live.store.compact(r.revision);
      proxy.restore();
      await until(() => b.status().held !== undefined, 5000, "the snapshot to be held");
      assert.match(b.status().held?.reason ?? "", /drops 8 of 10 keys/);
      assert.equal(keysOf(b).length, 10, "the view keeps its keys while holding");
      await until(() => keysOf(b).length === 2, 5000, "the confirmed snapshot");
      assert.equal(b.status().held, undefined);
      assert.equal(b.status().holds, 1);
      assert.deepEqual(sizes, [2], "one swap, straight to the confirmed view");
      assert.ok(
        logs.some((l) => /confirmed by a re-read; applying it/.test(l)),
        logs.join("\n"),
      );
      assert.equal(b.view().get(`${PODS}/c0`), "v0b");
    } finally {
      await b.close();
      await proxy.close();
      for (const k of ["c0", "c1"]) await live.store.delete(`${PODS}/${k}`).catch(() => {});
    }
  });

  test("a re-read that keeps changing is applied after maxHoldMs: never held forever", async () => {
    const proxy = new EtcdProxy(live.etcd.clientPort);
    await proxy.start();
    for (let i = 0; i < 10; i++) await live.store.put(`${PODS}/f${i}`, `v${i}`);
    const logs: string[] = [];
    const b = mirror(proxy.endpoint, logs, { maxLoss: 0.5, confirmDelayMs: 200, maxHoldMs: 1200 });
    await b.start([PODS]);
    let flapping = true;
    try {
      proxy.partition();
      await until(() => !b.status().connected, 5000, "the partition to show");
      for (let i = 1; i < 10; i++) await live.store.delete(`${PODS}/f${i}`);
      const r = await live.store.put(`${PODS}/f0`, "v0b");
      await live.store.compact(r.revision);
      // A different second key at every read: no two reads agree.
      const flap = (async () => {
        for (let n = 0; flapping; n++) {
          await live.store.put(`${PODS}/x${n + 1}`, "x");
          await live.store.delete(`${PODS}/x${n}`);
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      proxy.restore();
      await until(() => b.status().held !== undefined, 5000, "the snapshot to be held");
      const heldAt = Date.now();
      await until(() => b.status().held === undefined && b.status().connected, 8000, "the release");
      const heldMs = Date.now() - heldAt;
      flapping = false;
      await flap;
      assert.ok(heldMs < 4000, `held ${heldMs} ms`);
      assert.ok(keysOf(b).length <= 3, keysOf(b).join(","));
      assert.ok(
        logs.some((l) =>
          /still changing after \d+ ms: applying the latest consistent read/.test(l),
        ),
        logs.join("\n"),
      );
    } finally {
      flapping = false;
      await b.close();
      await proxy.close();
      for (const kv of (await live.store.list(`${PODS}/`)).kvs) await live.store.delete(kv.key);
    }
  });
});

describe("snapshot guard: a wiped etcd", () => {
  const live = etcdWithStore();

  test("an empty read after a revision reset is held; keys restored before the re-read: the view is never emptied", async () => {
    for (let i = 0; i < 30; i++) await live.store.put(`${PODS}/w${i % 6}`, `v${i}`);
    const logs: string[] = [];
    const b = mirror(live.etcd.endpoint, logs, {
      maxLoss: 0.5,
      confirmDelayMs: 3000,
      maxHoldMs: 10_000,
    });
    const sizes: number[] = [];
    b.onChange(() => sizes.push(keysOf(b).length));
    await b.start([PODS]);
    try {
      await wipe(live.etcd);
      await live.etcd.start();
      await until(() => b.status().held !== undefined, 8000, "the empty read to be held");
      assert.match(b.status().held?.reason ?? "", /empty read \(the view has 6 keys\)/);
      // The backup is restored while the empty read is held.
      const w = new EtcdStore({ endpoints: [live.etcd.endpoint] });
      try {
        for (let i = 0; i < 6; i++) await w.put(`${PODS}/w${i}`, `restored${i}`);
      } finally {
        await w.close();
      }
      await until(
        () => b.view().get(`${PODS}/w5`) === "restored5",
        8000,
        "the restored keys in the view",
      );
      assert.ok(!sizes.includes(0), `the view was never emptied: ${sizes.join(",")}`);
      assert.ok(b.status().resets >= 1);
      assert.ok(
        logs.some((l) => /the re-read is not suspicious/.test(l)),
        logs.join("\n"),
      );
    } finally {
      await b.close();
    }
  });
});
