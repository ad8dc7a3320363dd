// The etcdv3 backend (StoreMirror over the real etcd store) against a real
// etcd: exact prefixes, an outage with restart, compaction past the watcher's
// revision (behind a network partition), and revision resets (etcd wiped).
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createEtcdV3Backend } from "../../src/confd/backends/etcdv3.js";
import { StoreMirror } from "../../src/confd/backends/store-mirror.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { EtcdServer, etcdWithStore } from "../support/etcd.js";
import { EtcdProxy } from "./etcd-proxy.js";
import { until } from "./nginx-harness.js";

const PODS = "/registry/pods/default";

function backend(endpoint: string, logs: string[]): StoreMirror {
  return createEtcdV3Backend({
    backend: "etcdv3",
    nodes: [endpoint],
    watch: true,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
}

/** The view's keys and values under PODS, as a plain object. */
function viewOf(b: StoreMirror): Record<string, string> {
  const v = b.view();
  return Object.fromEntries(v.prefixed(`${PODS}/`).map((k) => [k, v.get(k)!]));
}

/** etcd's own keys and values under PODS/ (fresh client: no reconnect backoff). */
async function etcdOf(endpoint: string): Promise<Record<string, string>> {
  const s = new EtcdStore({ endpoints: [endpoint] });
  try {
    const { kvs } = await s.list(`${PODS}/`);
    return Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));
  } finally {
    await s.close();
  }
}

async function wipe(etcd: EtcdServer): Promise<void> {
  await etcd.stop();
  for (const f of readdirSync(etcd.dataDir)) rmSync(join(etcd.dataDir, f), { recursive: true });
}

describe("etcdv3 backend against a real etcd", () => {
  const live = etcdWithStore();
  const etcd = live.etcd;

  test("snapshot then incremental watch; sibling prefixes never wake it", async () => {
    await live.store.put(`${PODS}/a`, "A");
    await live.store.put(`${PODS}2/x`, "sibling");
    const logs: string[] = [];
    const b = backend(etcd.endpoint, logs);
    const changes: (string[] | null)[] = [];
    b.onChange((c) => changes.push(c));
    await b.start([PODS]);
    try {
      assert.deepEqual(viewOf(b), { [`${PODS}/a`]: "A" });
      await live.store.put(`${PODS}2/y`, "sibling");
      await live.store.put(`${PODS}foo`, "sibling");
      await live.store.put(`${PODS}/b`, "B");
      await until(() => changes.length > 0, 5000, "the change");
      assert.deepEqual(changes, [[`${PODS}/b`]]);
      await live.store.delete(`${PODS}/a`);
      await until(() => changes.length > 1, 5000, "the delete");
      assert.deepEqual(viewOf(b), { [`${PODS}/b`]: "B" });
    } finally {
      await b.close();
      await live.store.delete(`${PODS}/b`);
    }
  });

  test("etcd stopped and restarted: outage visible, first change after recovery < 2 s, nothing missed", async () => {
    for (const i of [1, 2, 3]) await live.store.put(`${PODS}/p${i}`, `v${i}`);
    const logs: string[] = [];
    const b = backend(etcd.endpoint, logs);
    await b.start([PODS]);
    try {
      assert.equal(b.status().connected, true);
      const stoppedAt = Date.now();
      await etcd.stop();
      await until(() => !b.status().connected, 5000, "the outage to show in status()");
      const st = b.status();
      assert.ok(st.lastError && /unavailable|ended|timed out/i.test(st.lastError), st.lastError);
      assert.ok((st.since ?? 0) >= stoppedAt);
      assert.ok(
        logs.some((l) => l.startsWith("error") && /connection lost/.test(l)),
        logs.join("\n"),
      );
      await new Promise((r) => setTimeout(r, 6000));
      assert.equal(b.status().connected, false, "still down while etcd is down");
      assert.deepEqual(Object.keys(viewOf(b)).length, 3, "the view is frozen, not emptied");

      await etcd.start(); // resolves once /health answers
      const healthyAt = Date.now();
      const w2 = new EtcdStore({ endpoints: [etcd.endpoint] });
      try {
        await w2.put(`${PODS}/p4`, "v4");
        await w2.delete(`${PODS}/p1`);
        await w2.put(`${PODS}/p2`, "v2b");
      } finally {
        await w2.close();
      }
      await until(() => viewOf(b)[`${PODS}/p2`] === "v2b", 15_000, "the changes after recovery");
      const lag = Date.now() - healthyAt;
      // Idle: well under 1 s (backoff cap 1 s); the bound leaves room for a
      // loaded machine and still tells us from confd's 13 s.
      assert.ok(lag < 8000, `first change after recovery took ${lag} ms`);
      assert.deepEqual(viewOf(b), await etcdOf(etcd.endpoint));
      assert.equal(b.status().connected, true);
      assert.equal(b.status().disconnects, 1);
    } finally {
      await b.close();
      for (const i of [1, 2, 3, 4]) await live.store.delete(`${PODS}/p${i}`).catch(() => {});
    }
  });

  test("started while etcd is unreachable: waits, logs once, resolves with the full snapshot", async () => {
    const proxy = new EtcdProxy(etcd.clientPort);
    await proxy.start();
    await live.store.put(`${PODS}/s1`, "one");
    proxy.partition();
    const logs: string[] = [];
    const b = backend(proxy.endpoint, logs);
    let started = false;
    const starting = b.start([PODS]).then(() => {
      started = true;
    });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(started, false, "no view before a complete snapshot");
      assert.deepEqual(viewOf(b), {}, "nothing half-loaded either");
      assert.equal(b.status().connected, false);
      const errors = logs.filter((l) => l.startsWith("error"));
      assert.ok(
        errors.length >= 1 && errors.length <= 3,
        `logged once per distinct error: ${errors.join("\n")}`,
      );
      proxy.restore();
      await starting;
      assert.deepEqual(viewOf(b), { [`${PODS}/s1`]: "one" });
      assert.equal(b.status().connected, true);
    } finally {
      await b.close();
      await proxy.close();
      await live.store.delete(`${PODS}/s1`);
    }
  });

  test("half-open link (nothing forwarded, no reset): the probe notices, then it resumes", async () => {
    const proxy = new EtcdProxy(etcd.clientPort);
    await proxy.start();
    await live.store.put(`${PODS}/h1`, "one");
    const logs: string[] = [];
    const b = new StoreMirror(new EtcdStore({ endpoints: [proxy.endpoint] }), {
      name: "etcdv3",
      watch: true,
      ownsStore: true,
      probeIntervalMs: 500,
      requestTimeoutMs: 1000,
      log: (level, msg) => logs.push(`${level} ${msg}`),
    });
    await b.start([PODS]);
    try {
      proxy.blackhole();
      await until(() => !b.status().connected, 5000, "the probe to notice the dead link");
      assert.match(b.status().lastError ?? "", /timed out|unavailable|deadline/i);
      await live.store.put(`${PODS}/h2`, "two");
      proxy.restore();
      await until(
        () => viewOf(b)[`${PODS}/h2`] === "two",
        10_000,
        "the change after the link is back",
      );
      assert.equal(b.status().connected, true);
      assert.deepEqual(viewOf(b), await etcdOf(etcd.endpoint));
    } finally {
      await b.close();
      await proxy.close();
      for (const k of ["h1", "h2"]) await live.store.delete(`${PODS}/${k}`).catch(() => {});
    }
  });

  test("compaction past the watcher's revision behind a partition: re-list, converge", async () => {
    const proxy = new EtcdProxy(etcd.clientPort);
    await proxy.start();
    await live.store.put(`${PODS}/c1`, "one");
    const logs: string[] = [];
    const b = backend(proxy.endpoint, logs);
    const changes: (string[] | null)[] = [];
    b.onChange((c) => changes.push(c));
    await b.start([PODS]);
    try {
      proxy.partition();
      await until(() => !b.status().connected, 5000, "the partition to show");
      await live.store.put(`${PODS}/c2`, "two");
      await live.store.delete(`${PODS}/c1`);
      const r = await live.store.put(`${PODS}/c3`, "three");
      await live.store.compact(r.revision);
      proxy.restore();
      await until(() => b.status().connected, 5000, "reconnect");
      await until(() => changes.includes(null), 5000, "the re-list");
      assert.deepEqual(viewOf(b), await etcdOf(etcd.endpoint));
      assert.ok(b.status().relists >= 1);
      await live.store.put(`${PODS}/c4`, "four");
      await until(() => viewOf(b)[`${PODS}/c4`] === "four", 5000, "resume after re-list");
    } finally {
      await b.close();
      await proxy.close();
      for (const k of ["c1", "c2", "c3", "c4"])
        await live.store.delete(`${PODS}/${k}`).catch(() => {});
    }
  });
});

describe("etcdv3 backend: revision reset (etcd wiped and started empty)", () => {
  const etcd = new EtcdServer();
  before(() => etcd.start());
  after(() => etcd.destroy());

  test("new etcd below the old revision: detected, re-listed, converges", async () => {
    let w = new EtcdStore({ endpoints: [etcd.endpoint] });
    for (let i = 0; i < 30; i++) await w.put(`${PODS}/old${i % 3}`, `v${i}`);
    await w.close();
    const logs: string[] = [];
    const b = backend(etcd.endpoint, logs);
    await b.start([PODS]);
    try {
      const oldRev = b.status().revision ?? 0;
      assert.ok(oldRev >= 31);
      await wipe(etcd);
      await etcd.start();
      w = new EtcdStore({ endpoints: [etcd.endpoint] });
      await w.put(`${PODS}/new1`, "n1");
      await w.put(`${PODS}/new2`, "n2");
      await w.close();
      await until(
        async () => JSON.stringify(viewOf(b)) === JSON.stringify(await etcdOf(etcd.endpoint)),
        5000,
        "the view to match the new etcd",
      );
      assert.deepEqual(Object.keys(viewOf(b)), [`${PODS}/new1`, `${PODS}/new2`]);
      assert.ok(b.status().resets >= 1, logs.join("\n"));
      assert.ok((b.status().revision ?? 0) < oldRev);
    } finally {
      await b.close();
    }
  });

  test("new etcd already past the old revision (while partitioned): detected by history", async () => {
    let w = new EtcdStore({ endpoints: [etcd.endpoint] });
    const proxy = new EtcdProxy(etcd.clientPort);
    await proxy.start();
    for (const k of ["a", "b", "c"]) await w.put(`${PODS}/${k}`, k);
    await w.close();
    const logs: string[] = [];
    const b = backend(proxy.endpoint, logs);
    await b.start([PODS]);
    try {
      const oldRev = b.status().revision ?? 0;
      proxy.partition();
      await until(() => !b.status().connected, 5000, "the partition to show");
      await wipe(etcd);
      await etcd.start();
      w = new EtcdStore({ endpoints: [etcd.endpoint] });
      for (let i = 0; i < oldRev + 5; i++) await w.put(`${PODS}/x${i % 4}`, `x${i}`);
      await w.put(`${PODS}/c`, "c-new");
      await w.close();
      proxy.restore();
      await until(
        async () => JSON.stringify(viewOf(b)) === JSON.stringify(await etcdOf(etcd.endpoint)),
        8000,
        "the view to match the replaced etcd",
      );
      assert.ok(!(`${PODS}/a` in viewOf(b)), "keys of the old etcd are gone");
      assert.ok(b.status().resets >= 1, logs.join("\n"));
    } finally {
      await b.close();
      await proxy.close();
    }
  });
});
