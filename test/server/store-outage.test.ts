// Issue 14: server/resume.test once aborted with std::bad_alloc while etcd
// was down. The outage path was measured on the clients of that time (etcd3
// + grpc-unary.ts, commit be38dae) and on today's client: memory did not grow
// with the outage's length; the one thing that did was the old client's
// connections to a FROZEN etcd (each failed etcd3 call left one established,
// ~1 per 7 s under a resuming server: 2 -> 11 in 76 s), none on today's
// client. These tests guard that path against a future leak: calls,
// compare-and-swap puts and watches that fail because etcd is down leave no
// connection, handle or heap behind, and when etcd is back the client holds
// one connection to it, not one per failed call. A retained session per
// failed call (~3,000 here) shows as ~28 MB of heap growing round after round.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { EtcdStore } from "../../src/store/etcd.js";
import { StoreUnavailableError } from "../../src/store/store.js";
import { EtcdCluster, EtcdServer } from "../support/etcd.js";
import { until } from "./helpers.js";

const ROUNDS = 4;
/** Failing operations of each kind per round (get, list, CAS put, revision, watch). */
const PER_KIND = 200;
const BATCH = 50;
/** Heap (after a full GC) the measured rounds may add: a leak of ~1 KB per failed operation would add 4 MB. */
const HEAP_SLACK_BYTES = 2 * 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** This process's established TCP connections to `port` (from /proc/self/net/tcp{,6}), by local address. */
function connectionsTo(port: number): Set<string> {
  const mine = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]!);
    } catch {
      // closed while listing
    }
  }
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const found = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const established = cols[3] === "01";
      if (cols.length > 9 && established && cols[2]!.endsWith(hexPort) && mine.has(cols[9]!)) {
        found.add(cols[1]!);
      }
    }
  }
  return found;
}

/**
 * The store's connections to etcd: at most one, beside the keep-alive
 * connection EtcdServer.start()'s health checks may still hold.
 */
function assertOneSession(port: number, when: string): void {
  const n = connectionsTo(port).size;
  assert.ok(n >= 1 && n <= 2, `${when}: ${n} connections to etcd (one session + the harness's)`);
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Every kind of store operation the server runs during an outage, each expected to fail as unavailable. */
async function failingRound(store: EtcdStore, round: number): Promise<void> {
  const ops: (() => Promise<unknown>)[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    const key = `/registry/pods/outage/p${i}`;
    ops.push(
      () => store.get(key),
      () => store.list("/registry/pods/outage/"),
      () => store.put(key, `v${round}`, { expectModRevision: 1 }),
      () => store.revision(),
      () => store.watch("/registry/pods/outage/", 0, { onEvents() {}, onError() {} }),
    );
  }
  for (let i = 0; i < ops.length; i += BATCH) {
    const results = await Promise.allSettled(ops.slice(i, i + BATCH).map((op) => op()));
    for (const r of results) {
      assert.equal(r.status, "rejected", "etcd is down: every operation fails");
      assert.ok(
        r.reason instanceof StoreUnavailableError,
        `fails as unavailable, not ${String(r.reason)}`,
      );
    }
  }
}

test("failed store calls during an etcd outage leave no connection, handle or heap behind", async (t) => {
  const etcd = new EtcdServer();
  await etcd.start();
  const store = new EtcdStore({ endpoints: [etcd.endpoint] });
  try {
    await store.put("/registry/pods/outage/seed", "x");
    let watchEnded: Error | null = null;
    await store.watch("/registry/pods/outage/", 0, {
      onEvents() {},
      onError(err) {
        watchEnded = err;
      },
    });
    assertOneSession(etcd.clientPort, "etcd up");

    await etcd.stop();
    await until("the open watch to end with the outage", async () => watchEnded !== null, 30_000);
    assert.ok(watchEnded! instanceof StoreUnavailableError, String(watchEnded));

    // warm-up: code compiled, caches and pools at their steady size
    await failingRound(store, -1);
    await failingRound(store, 0);
    const heaps = [heapAfterGc()];
    const handles0 = process.getActiveResourcesInfo().length;
    for (let round = 1; round <= ROUNDS; round++) {
      await failingRound(store, round);
      assert.equal(connectionsTo(etcd.clientPort).size, 0, `round ${round}: no connection kept`);
      heaps.push(heapAfterGc());
    }
    // A leak grows round after round; lazily compiled code and caches settle
    // in the first rounds (the lowest point from the first round on is the floor).
    const heap0 = Math.min(...heaps.slice(1));
    const grown = heaps[heaps.length - 1]! - heap0;
    const handles = process.getActiveResourcesInfo().length;
    const ops = ROUNDS * PER_KIND * 5;
    t.diagnostic(
      `${ops} failed operations: heap after GC ${(heap0 / 1048576).toFixed(1)} MiB, +${(grown / 1024).toFixed(0)} KiB (per round: ${heaps.map((h) => (h / 1048576).toFixed(2)).join(", ")} MiB); active resources ${handles0} -> ${handles}; client calls ${store.client.stats.calls}`,
    );
    assert.ok(
      grown < HEAP_SLACK_BYTES,
      `heap grew ${(grown / 1024).toFixed(0)} KiB over ${ops} failed operations`,
    );
    assert.ok(handles <= handles0 + 2, `active resources ${handles0} -> ${handles}`);

    await etcd.start();
    await until("the store to answer again", async () => (await store.get("/x")) === null, 30_000);
    for (let i = 0; i < 20; i++) await store.get(`/registry/pods/outage/p${i}`);
    assertOneSession(etcd.clientPort, "etcd back, after 20 calls");
  } finally {
    await store.close();
    await etcd.destroy();
  }
});

test("calls to a frozen etcd (connections accepted, nothing answered) do not pile up connections", async (t) => {
  const cluster = new EtcdCluster(1);
  await cluster.start();
  const member = cluster.members[0]!;
  const store = new EtcdStore({ endpoints: [member.endpoint], callTimeoutMs: 300 });
  try {
    await store.put("/registry/pods/outage/seed", "x");
    member.signal("SIGSTOP");
    const counts: number[] = [];
    let failed = 0;
    // Spaced as a retrying server spaces them: the old etcd3 client left one
    // connection per failed call that came more than ~1 s after the previous one.
    for (let i = 0; i < 12; i++) {
      const results = await Promise.allSettled([
        store.get("/registry/pods/outage/seed"),
        store.list("/registry/pods/outage/"),
        store.revision(),
        store.put("/registry/pods/outage/seed", `v${i}`, { expectModRevision: 1 }),
      ]);
      for (const r of results) {
        if (r.status === "fulfilled") continue;
        failed++;
        assert.ok(r.reason instanceof StoreUnavailableError, String(r.reason));
      }
      counts.push(connectionsTo(member.clientPort).size);
      await new Promise((r) => setTimeout(r, 1200));
    }
    const most = Math.max(...counts);
    t.diagnostic(
      `${failed} calls failed against the frozen etcd; connections to it: ${counts.join(" ")}`,
    );
    assert.ok(failed >= 40, `the frozen etcd answered ${48 - failed} of 48 calls`);
    // one session, one replacing it after a missed keepalive, the harness's health check
    assert.ok(most <= 3, `connections to the frozen etcd: ${counts.join(" ")}`);

    member.signal("SIGCONT");
    await until("the store to answer again", async () => (await store.revision()) > 0, 30_000);
    for (let i = 0; i < 20; i++) await store.get("/registry/pods/outage/seed");
    assertOneSession(member.clientPort, "etcd thawed, after 20 calls");
  } finally {
    await store.close();
    await cluster.destroy();
  }
});
