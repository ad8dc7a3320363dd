// etcd stopped: operations reject with StoreUnavailableError within a few
// seconds (so the server can answer 503), watches end with it, and the same
// store object works again once etcd is back.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { StoreUnavailableError } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { freePort } from "../support/ports.js";
import { eventually, recorder } from "./contract.js";

const etcd = new EtcdServer();
before(async () => {
  await etcd.start();
});
after(async () => {
  await etcd.destroy();
});

async function rejectsFast(what: string, p: Promise<unknown>, limitMs: number): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof StoreUnavailableError, `${what}: got ${err.name}: ${err.message}`);
    assert.match(err.message, /etcd http:\/\/127\.0\.0\.1:\d+/, "message names the endpoint");
    return true;
  });
  const ms = Date.now() - t0;
  assert.ok(ms < limitMs, `${what} took ${ms} ms`);
}

test("etcd down: StoreUnavailableError fast; recovery when it returns", async () => {
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 2000 });
  try {
    await store.put("/outage/a", "before");
    const rec = recorder();
    await store.watch("/outage/", 0, rec.handlers);
    await etcd.stop();

    await rejectsFast("put", store.put("/outage/b", "during"), 5000);
    await rejectsFast("get", store.get("/outage/a"), 5000);
    await rejectsFast("list", store.list("/outage/"), 5000);
    await rejectsFast("revision", store.revision(), 5000);
    await rejectsFast("watch", store.watch("/outage/", 0, recorder().handlers), 5000);
    await eventually(() => rec.errors.length === 1, "watch onError");
    assert.ok(rec.errors[0] instanceof StoreUnavailableError, String(rec.errors[0]));

    await etcd.start();
    await eventually(
      async () => (await store.put("/outage/b", "after").catch(() => null))?.ok === true,
      "writes work again",
      30_000,
    );
    assert.equal((await store.get("/outage/a"))?.value, "before");
    assert.equal((await store.get("/outage/b"))?.value, "after");
  } finally {
    await store.close();
  }
});

test("several endpoints: a dead one is skipped", async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const store = new EtcdStore({ endpoints: [dead, etcd.endpoint] });
  try {
    for (let i = 0; i < 10; i++) {
      assert.equal((await store.put(`/failover/${i}`, "v")).ok, true);
      assert.equal((await store.get(`/failover/${i}`))?.value, "v");
    }
    const rec = recorder();
    for (let i = 0; i < 4; i++) await (await store.watch("/failover/", 0, rec.handlers)).close();
    assert.equal((await store.list("/failover/")).kvs.length, 10);
  } finally {
    await store.close();
  }
});

/** The etcd process of this test (by its unique data dir), for SIGSTOP/SIGCONT. */
function etcdPid(): number {
  const out = execFileSync("pgrep", ["-f", "--", `--data-dir=${etcd.dataDir}`], {
    encoding: "utf8",
  });
  const pids = out.trim().split("\n").map(Number);
  assert.equal(pids.length, 1, `one etcd for ${etcd.dataDir}: ${out}`);
  return pids[0];
}

/** Every thread of `pid` is stopped (state T): SIGSTOP has taken effect. */
function frozen(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
  });
}

test("etcd frozen (SIGSTOP, connection stays open): calls hit their deadline, the watch notices", async () => {
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 1500 });
  const pid = etcdPid();
  try {
    await store.put("/frozen/a", "1");
    const rec = recorder();
    await store.watch("/frozen/", 0, rec.handlers);
    process.kill(pid, "SIGSTOP");
    // kill() returns once the signal is sent; on a loaded machine etcd's
    // threads stop when next scheduled (a full run once saw the put answered)
    await eventually(() => frozen(pid), "etcd stopped", 10_000);
    await rejectsFast("put", store.put("/frozen/b", "2"), 6000);
    await eventually(() => rec.errors.length === 1, "keepalive ends the watch", 40_000);
    assert.ok(rec.errors[0] instanceof StoreUnavailableError, String(rec.errors[0]));
    process.kill(pid, "SIGCONT");
    await eventually(
      async () => (await store.put("/frozen/c", "3").catch(() => null))?.ok === true,
      "writes work again",
      30_000,
    );
  } finally {
    process.kill(pid, "SIGCONT");
    await store.close();
  }
});
