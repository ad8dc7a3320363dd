// A hostile pod with a valid token against the port ledger (issue 15), on
// real stores: quota, busy and host abuse fail and leave the ledger as it
// was; reports are checked against the ledger; a victim still gets its
// ports while an attacker hammers the endpoint; per-pod rate limit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LEDGER_PREFIX, ledgerKey } from "../../src/server/ports/keys.js";
import type { RunningServer } from "../../src/server/server.js";
import type { Store } from "../../src/store/store.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  makeStore,
  podToken,
  putPod,
  request,
  SECRET,
  STORE_KINDS,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

const tok = (pod: string) => bearer(podToken("default", pod));

/** Every ledger record (key and value): what "left as it was" compares. */
async function ledger(store: Store): Promise<string[]> {
  return (await store.list(LEDGER_PREFIX)).kvs.map((kv) => `${kv.key}=${kv.value}`);
}

for (const kind of STORE_KINDS) {
  describe(`ledger abuse on ${kind}`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    const ports = (pod: string, body: unknown) =>
      request("POST", agentUrl(srv.url, "default", pod, "ports"), body, tok(pod));
    const report = (pod: string, body: unknown) =>
      request("PUT", agentUrl(srv.url, "default", pod, "annotation"), body, tok(pod));
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store, { sweepIntervalMs: 3_600_000 });
    });
    after(async () => {
      await srv.close();
      await fx.destroy();
    });

    test("10 containers x 100 ports: refused over the quota, ledger unchanged", async () => {
      await putPod(fx.store, "default", "greedy", { hostIP: "10.20.0.1", needPorts: 2 });
      const before = await ledger(fx.store);
      for (let i = 0; i < 10; i++) {
        const r = await ports("greedy", { count: 100, container: `c${i}` });
        assert.equal(r.status, 409, r.text);
        assert.match(String(r.body.resultMsg), /may hold at most 2 ports \(its quota\)/);
      }
      assert.deepEqual(await ledger(fx.store), before);
      // within its quota it is served, across containers together
      assert.equal((await ports("greedy", { count: 1, container: "c0" })).status, 200);
      assert.equal((await ports("greedy", { count: 1, container: "c1" })).status, 200);
      const third = await ports("greedy", { count: 1, container: "c2" });
      assert.equal(third.status, 409);
      assert.match(String(third.body.resultMsg), /holds 2 in other containers and asks for 1/);
    });

    test("pods declaring nothing get the default quota (20)", async () => {
      await putPod(fx.store, "default", "plain", { hostIP: "10.20.0.2" });
      const before = await ledger(fx.store);
      const r = await ports("plain", { count: 21 });
      assert.equal(r.status, 409, r.text);
      assert.deepEqual(await ledger(fx.store), before);
      assert.equal((await ports("plain", { count: 20 })).status, 200);
    });

    test("busy listing the whole range: refused, no external record written", async () => {
      await putPod(fx.store, "default", "liar", { hostIP: "10.20.0.3", needPorts: 2 });
      const before = await ledger(fx.store);
      const all = Array.from({ length: 1000 }, (_, i) => 20000 + i);
      const r = await ports("liar", { count: 1, busy: all });
      assert.equal(r.status, 409, r.text);
      assert.deepEqual(await ledger(fx.store), before, "nothing written when refused");
    });

    test("busy ports that are not the pod's own are never recorded", async () => {
      await putPod(fx.store, "default", "liar2", { hostIP: "10.20.0.4", needPorts: 2 });
      const r = await ports("liar2", { count: 1, busy: [20000, 20001, 20002, 20003] });
      assert.equal(r.status, 200, r.text);
      const recs = (await fx.store.list(`${LEDGER_PREFIX}10.20.0.4/`)).kvs;
      assert.equal(recs.length, 1, "only the port it got");
      assert.equal(JSON.parse(recs[0]!.value).kind, "pod");
    });

    test("reporting its own ports busy again and again parks at most its quota", async () => {
      const host = "10.20.0.5";
      await putPod(fx.store, "default", "cycler", { hostIP: host, needPorts: 2 });
      let held = ((await ports("cycler", { count: 2 })).body.result as { ports: number[] }).ports;
      for (let i = 0; i < 10; i++) {
        const r = await ports("cycler", { count: 2, busy: held });
        assert.equal(r.status, 200, r.text);
        held = (r.body.result as { ports: number[] }).ports;
      }
      const recs = (await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.map((kv) =>
        JSON.parse(kv.value),
      );
      assert.equal(recs.filter((r) => r.kind === "pod").length, 2);
      assert.equal(recs.filter((r) => r.kind === "external").length, 2, "external holds bounded");
      const ext = recs.find((r) => r.kind === "external");
      const holdMs = Date.parse(ext.until) - Date.now();
      assert.ok(holdMs <= 2 * 60_000 && holdMs > 0, `hold ${holdMs} ms (default 2 min)`);
    });

    test("a pod without hostIP may name only a known host", async () => {
      await putPod(fx.store, "default", "drifter", { needPorts: 2 });
      const kv = await fx.store.get("/registry/pods/default/drifter");
      const pod = JSON.parse(kv!.value);
      delete pod.status.hostIP;
      await fx.store.put(kv!.key, JSON.stringify(pod));
      const before = await ledger(fx.store);
      const r = await ports("drifter", { count: 2, host: "10.0.0.99" });
      assert.equal(r.status, 400, r.text);
      assert.match(String(r.body.resultMsg), /10\.0\.0\.99 is not a host of cluster default/);
      assert.deepEqual(await ledger(fx.store), before);
      // a host where pods run is fine
      const ok = await ports("drifter", { count: 1, host: "10.20.0.1" });
      assert.equal(ok.status, 200, ok.text);
    });

    test("a report of another pod's port is refused, naming the holder", async () => {
      const host = "10.20.0.6";
      await putPod(fx.store, "default", "owner", { hostIP: host, needPorts: 1 });
      await putPod(fx.store, "default", "thief", { hostIP: host, needPorts: 1 });
      const p = ((await ports("owner", { count: 1 })).body.result as { ports: number[] }).ports[0]!;
      assert.equal((await report("owner", { AUTO_PORT0: String(p) })).status, 200);
      const before = await ledger(fx.store);
      const r = await report("thief", { AUTO_PORT0: String(p) });
      assert.equal(r.status, 409, r.text);
      assert.match(
        String(r.body.resultMsg),
        new RegExp(`AUTO_PORT0=${p}: port ${p} on host ${host} is held by pod default/owner`),
      );
      assert.equal((await annotationsOf(fx.store, "default", "thief")).AUTO_PORT0, undefined);
      assert.deepEqual(await ledger(fx.store), before);
    });

    test("a report of a free port makes the ledger hold it for the pod (within quota)", async () => {
      const host = "10.20.0.7";
      await putPod(fx.store, "default", "local", { hostIP: host, needPorts: 2 });
      const r = await report("local", { AUTO_PORT0: "20500", AUTO_PORT1: "20501" });
      assert.equal(r.status, 200, r.text);
      const rec = JSON.parse((await fx.store.get(ledgerKey(host, 20500)))!.value);
      assert.equal(rec.pod, "local");
      // the ledger answers the same ports to the pod
      const again = await ports("local", { count: 2 });
      assert.deepEqual((again.body.result as { ports: number[] }).ports, [20500, 20501]);
      // changing AUTO_PORT1 moves the hold
      assert.equal((await report("local", { AUTO_PORT1: "20502" })).status, 200);
      assert.equal(await fx.store.get(ledgerKey(host, 20501)), null);
      // a third port is over its quota of 2: nothing written
      const before = await ledger(fx.store);
      const over = await report("local", { AUTO_PORT2: "20503" });
      assert.equal(over.status, 409, over.text);
      assert.match(String(over.body.resultMsg), /may hold at most 2 ports/);
      assert.deepEqual(await ledger(fx.store), before);
    });
  });
}

describe("a victim still gets its ports while an attacker hammers (etcd, rate limit on)", () => {
  let fx: StoreFixture;
  let srv: RunningServer;
  before(async () => {
    fx = await makeStore("etcd");
    srv = await startTestServer(fx.store, {
      sweepIntervalMs: 3_600_000,
      // low enough that the attacker meets it on a loaded machine too
      agentRate: 1,
      agentBurst: 5,
    });
  });
  after(async () => {
    await srv.close();
    await fx.destroy();
  });

  test("the attacker gets 429 with Retry-After, the victim 200", async () => {
    const host = "10.30.0.1";
    await putPod(fx.store, "default", "attacker", { hostIP: host, needPorts: 2 });
    await putPod(fx.store, "default", "victim", { hostIP: host, needPorts: 2 });
    const all = Array.from({ length: 1000 }, (_, i) => 20000 + i);
    const bodies = [
      { count: 100, container: "c1" },
      { count: 2, busy: all },
      { count: 2, host: "10.0.0.99" },
      { count: 2 },
    ];
    let stop = false;
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    const hammer = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const body = JSON.stringify(bodies[(i + w) % bodies.length]);
        const res = await fetch(agentUrl(srv.url, "default", "attacker", "ports"), {
          method: "POST",
          headers: { "content-type": "application/json", ...tok("attacker") },
          body,
        });
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) retryAfter = res.headers.get("retry-after");
      }
    });
    // the victim asks while the attack runs
    await new Promise((r) => setTimeout(r, 300));
    const v = await request(
      "POST",
      agentUrl(srv.url, "default", "victim", "ports"),
      { count: 2 },
      tok("victim"),
    );
    const rep =
      v.status === 200
        ? await request(
            "PUT",
            agentUrl(srv.url, "default", "victim", "annotation"),
            { AUTO_PORT0: String((v.body.result as { ports: number[] }).ports[0]) },
            tok("victim"),
          )
        : v;
    // keep hammering until the limiter has answered at least once
    const until = Date.now() + 20_000;
    while (!statuses.has(429) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(hammer);
    assert.equal(v.status, 200, v.text);
    assert.equal(rep.status, 200, rep.text);
    assert.ok(statuses.get(429), `attacker statuses ${JSON.stringify([...statuses])}`);
    assert.match(String(retryAfter), /^[1-9][0-9]*$/);
    const recs = (await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.map((kv) =>
      JSON.parse(kv.value),
    );
    assert.equal(recs.filter((r) => r.pod === "attacker").length, 2, "attacker: its quota");
    assert.equal(recs.filter((r) => r.pod === "victim").length, 2);
    assert.equal(recs.filter((r) => r.kind === "external").length, 0);
  });
});
