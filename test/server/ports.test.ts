// The port ledger on real stores: distinct ports under concurrency (one and
// two server replicas), idempotency, busy exclusion, sticky preferred ports,
// freeing on pod deletion and by the sweep.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LEDGER_PREFIX, ledgerKey } from "../../src/server/ports/keys.js";
import type { RunningServer } from "../../src/server/server.js";
import { podKey } from "../../src/store/store.js";
import {
  agentUrl,
  bearer,
  makeStore,
  podToken,
  putPod,
  request,
  STORE_KINDS,
  type StoreFixture,
  startTestServer,
  until,
} from "./helpers.js";

const tok = (ns: string, pod: string) => bearer(podToken(ns, pod));

for (const kind of STORE_KINDS) {
  describe(`port ledger on ${kind}`, () => {
    let fx: StoreFixture;
    let srv: RunningServer;
    let srv2: RunningServer;
    const alloc = (s: RunningServer, pod: string, body: Record<string, unknown>, ns = "default") =>
      request("POST", agentUrl(s.url, ns, pod, "ports"), body, tok(ns, pod));
    before(async () => {
      fx = await makeStore(kind);
      srv = await startTestServer(fx.store, { sweepIntervalMs: 3_600_000 });
      // A second replica with its own store client on the same data.
      srv2 = await startTestServer(fx.reopen(), { sweepIntervalMs: 3_600_000 });
    });
    after(async () => {
      await srv.close();
      await srv2.close();
      await fx.destroy();
    });

    test("200 pods of one host allocating at once through two replicas: no duplicates", async () => {
      const host = "10.1.0.1";
      const pods = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
      await Promise.all(pods.map((p) => putPod(fx.store, "default", p, { hostIP: host })));
      const rs = await Promise.all(pods.map((p, i) => alloc(i % 2 ? srv2 : srv, p, { count: 2 })));
      const all: number[] = [];
      for (const r of rs) {
        assert.equal(r.status, 200, r.text);
        const res = r.body.result as { ports: number[]; host: string };
        assert.equal(res.host, host);
        assert.equal(res.ports.length, 2);
        all.push(...res.ports);
      }
      assert.equal(new Set(all).size, 400, "400 distinct ports");
      assert.ok(all.every((p) => p >= 20000 && p <= 20999));
      const ledger = await fx.store.list(`${LEDGER_PREFIX}${host}/`);
      assert.equal(ledger.kvs.length, 400, "one ledger record per port, no leftovers");
    });

    test("idempotent: the same pod and container get the same ports", async () => {
      await putPod(fx.store, "default", "idem", { hostIP: "10.2.0.1" });
      const a = await alloc(srv, "idem", { count: 3 });
      const b = await alloc(srv2, "idem", { count: 3 });
      assert.equal(a.status, 200);
      assert.deepEqual(b.body.result, a.body.result);
      const side = await alloc(srv, "idem", { count: 1, container: "sidecar" });
      const sidePorts = (side.body.result as { ports: number[] }).ports;
      assert.ok(
        !(a.body.result as { ports: number[] }).ports.includes(sidePorts[0]!),
        "another container gets other ports",
      );
      const again = await Promise.all([1, 2, 3, 4].map(() => alloc(srv, "idem", { count: 3 })));
      for (const r of again) assert.deepEqual(r.body.result, a.body.result);
    });

    test("busy ports are excluded, replaced in place and held as external", async () => {
      await putPod(fx.store, "default", "probe", { hostIP: "10.3.0.1" });
      const first = (await alloc(srv, "probe", { count: 2 })).body.result as { ports: number[] };
      const [p0, p1] = first.ports as [number, number];
      const r = await alloc(srv, "probe", { count: 2, busy: [p1] });
      const second = (r.body.result as { ports: number[] }).ports;
      assert.equal(second[0], p0, "AUTO_PORT0 kept");
      assert.notEqual(second[1], p1, "AUTO_PORT1 replaced");
      const rec = JSON.parse((await fx.store.get(ledgerKey("10.3.0.1", p1)))!.value);
      assert.equal(rec.kind, "external");
      // Nobody else gets the busy port while it is held.
      await putPod(fx.store, "default", "probe-2", { hostIP: "10.3.0.1" });
      const other = (await alloc(srv, "probe-2", { count: 1, preferred: [p1] })).body.result as {
        ports: number[];
      };
      assert.notEqual(other.ports[0], p1);
    });

    test("preferred ports are sticky across pod re-creation", async () => {
      await putPod(fx.store, "default", "sticky", { hostIP: "10.4.0.1" });
      const r = await alloc(srv, "sticky", { count: 2, preferred: [20500, 20501] });
      assert.deepEqual((r.body.result as { ports: number[] }).ports, [20500, 20501]);
      await putPod(fx.store, "default", "taker", { hostIP: "10.4.0.1" });
      const t = await alloc(srv, "taker", { count: 1, preferred: [20500] });
      assert.notEqual(
        (t.body.result as { ports: number[] }).ports[0],
        20500,
        "a held port is not given away",
      );
    });

    test("ports are freed when the pod is deleted", async () => {
      const host = "10.5.0.1";
      await putPod(fx.store, "default", "doomed", { hostIP: host });
      const ports = ((await alloc(srv, "doomed", { count: 2 })).body.result as { ports: number[] })
        .ports;
      assert.equal((await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.length, 2);
      await fx.store.delete(podKey("default", "doomed"));
      await until(
        "ledger records to be freed",
        async () => (await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.length === 0,
        20_000,
      );
      // and a new pod may take them
      await putPod(fx.store, "default", "heir", { hostIP: host });
      const heir = (
        (await alloc(srv, "heir", { count: 2, preferred: ports })).body.result as {
          ports: number[];
        }
      ).ports;
      assert.deepEqual(heir, ports);
    });

    test("the sweep frees ports of pods that vanished unseen and expired external records", async () => {
      const host = "10.6.0.1";
      await putPod(fx.store, "default", "ghost", { hostIP: host });
      const first = (await alloc(srv, "ghost", { count: 1 })).body.result as { ports: number[] };
      // its own port found bound by an outsider: held as external, replaced
      await alloc(srv, "ghost", { count: 1, busy: first.ports });
      // Close the watches first so that only the sweep can notice.
      const c = srv.clusters.get("default");
      await srv.close();
      await srv2.close();
      await fx.store.delete(podKey("default", "ghost"));
      assert.equal((await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.length, 2);
      const far = Date.now() + 24 * 3_600_000;
      const freed = await c.reaper.sweep(far);
      // ghost's new port and the external record of its old one (plus expired records of earlier tests)
      assert.ok(freed >= 2, `freed ${freed}`);
      assert.equal((await fx.store.list(`${LEDGER_PREFIX}${host}/`)).kvs.length, 0);
      srv = await startTestServer(fx.store, { sweepIntervalMs: 3_600_000 });
      srv2 = await startTestServer(fx.reopen(), { sweepIntervalMs: 3_600_000 });
    });

    test("bad requests: 400 and no ledger change", async () => {
      await putPod(fx.store, "default", "strict", { hostIP: "10.7.0.1" });
      for (const [body, msg] of [
        [{}, /count/],
        [{ count: 0 }, /count 0/],
        [{ count: 101 }, /count 101/],
        [{ count: 1, container: "Bad_Name" }, /container/],
        [{ count: 1, busy: ["x"] }, /busy contains "x"/],
        [{ count: 1, extra: 1 }, /unknown field "extra"/],
        [{ count: 1, host: "10.9.9.9" }, /does not match the pod's status.hostIP/],
      ] as const) {
        const r = await alloc(srv, "strict", body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(String(r.body.resultMsg), msg);
      }
      assert.equal((await fx.store.list(`${LEDGER_PREFIX}10.7.0.1/`)).kvs.length, 0);
      const noAuth = await request("POST", agentUrl(srv.url, "default", "strict", "ports"), {
        count: 1,
      });
      assert.equal(noAuth.status, 401);
    });
  });
}

describe("a small range runs out cleanly", () => {
  test("409 names the host and range; nothing half-taken", async () => {
    const fx = await makeStore("embedded");
    const srv = await startTestServer(fx.store, { portRange: { min: 30000, max: 30002 } });
    try {
      await putPod(fx.store, "default", "a", { hostIP: "10.8.0.1" });
      await putPod(fx.store, "default", "b", { hostIP: "10.8.0.1" });
      const a = await request(
        "POST",
        agentUrl(srv.url, "default", "a", "ports"),
        { count: 2 },
        tok("default", "a"),
      );
      assert.equal(a.status, 200);
      const b = await request(
        "POST",
        agentUrl(srv.url, "default", "b", "ports"),
        { count: 2 },
        tok("default", "b"),
      );
      assert.equal(b.status, 409);
      assert.match(String(b.body.resultMsg), /no free port on host 10\.8\.0\.1.*30000-30002/);
      assert.equal((await fx.store.list(`${LEDGER_PREFIX}10.8.0.1/`)).kvs.length, 2);
    } finally {
      await srv.close();
      await fx.destroy();
    }
  });
});
