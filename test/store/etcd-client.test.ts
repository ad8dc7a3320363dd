// The etcd client's failure handling on one real etcd reached two ways: a
// loopback proxy (test/confd/etcd-proxy.ts) that can drop or blackhole its
// connections, and the etcd directly. The proxy is listed first, so calls
// and watches are pinned to it until it fails.

import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { PrefixRoutedStore } from "../../src/store/routed.js";
import { StoreUnavailableError } from "../../src/store/store.js";
import { EtcdProxy } from "../confd/etcd-proxy.js";
import { startTestServer } from "../server/helpers.js";
import { EtcdServer } from "../support/etcd.js";
import { eventually, recorder } from "./contract.js";

const etcd = new EtcdServer();
before(async () => {
  await etcd.start();
});
after(async () => {
  await etcd.destroy();
});

/** A proxy in front of the suite's etcd, started. */
async function proxy(): Promise<EtcdProxy> {
  const p = new EtcdProxy(etcd.clientPort);
  await p.start();
  return p;
}

test("a silent endpoint (blackholed): calls move to the other within ~3 s, and stay there", async () => {
  const p = await proxy();
  const store = new EtcdStore({ endpoints: [p.endpoint, etcd.endpoint] });
  try {
    await store.put("/client/silent/a", "1");
    assert.equal(store.health()[0]!.pinned, true);
    p.blackhole();
    const t0 = Date.now();
    assert.equal((await store.put("/client/silent/b", "2")).ok, true);
    const took = Date.now() - t0;
    assert.ok(took < 4000, `failover took ${took} ms`);
    assert.equal(store.client.stats.keepaliveTimeouts, 1);
    assert.equal(store.client.stats.failovers, 1);
    assert.deepEqual(
      store.health().map((h) => [h.healthy, h.pinned]),
      [
        [false, false],
        [true, true],
      ],
    );
    // Later calls go straight to the healthy endpoint: no 2.5 s each.
    const t1 = Date.now();
    for (let i = 0; i < 20; i++) await store.get("/client/silent/a");
    assert.ok(Date.now() - t1 < 2000, `20 gets took ${Date.now() - t1} ms`);
    // Back: the background probe marks the endpoint healthy again.
    p.restore();
    await eventually(() => store.health()[0]!.healthy, "the proxy endpoint healthy again", 20_000);
    assert.equal(store.health()[0]!.failures, 1, "the failure still counted after the recovery");
  } finally {
    await store.close();
    await p.close();
  }
});

test("a watch resumes on the other endpoint from the next revision: no event lost, none twice", async () => {
  const p = await proxy();
  const store = new EtcdStore({ endpoints: [p.endpoint, etcd.endpoint] });
  const writer = new EtcdStore({ endpoints: [etcd.endpoint] });
  try {
    const rec = recorder();
    const from = (await writer.put("/client/resume/k0", "0")).revision;
    await store.watch("/client/resume/", from, rec.handlers);
    const expected = [from];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        expected.push((await writer.put(`/client/resume/k${expected.length}`, "v")).revision);
      }
    };
    await write(20);
    await eventually(() => rec.batches.length === expected.length, "events before the cut");
    p.partition(); // connections reset: the watch's stream fails
    await write(20);
    p.blackhole(); // and new connections to it hang
    await write(20);
    await eventually(() => rec.batches.length >= expected.length, "events after the cut", 20_000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more may come
    assert.deepEqual(rec.batches, expected, "every revision once, in order");
    assert.deepEqual(rec.errors, []);
    assert.ok(store.client.stats.watchResumes >= 1);
  } finally {
    await writer.close();
    await store.close();
    await p.close();
  }
});

test("sessions dropped in every state (while connecting, after connect, mid-call, on close): errors, no crash", async () => {
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on("uncaughtException", onCrash);
  // A TCP server that accepts and then resets each connection after `ms`.
  const sockets = new Set<Socket>();
  let ms = 0;
  const rude = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    setTimeout(() => s.resetAndDestroy(), ms);
  });
  await new Promise<void>((r) => rude.listen(0, "127.0.0.1", r));
  const port = (rude.address() as { port: number }).port;
  try {
    for (const delay of [0, 5, 30, 200]) {
      ms = delay;
      const store = new EtcdStore({
        endpoints: [`http://127.0.0.1:${port}`],
        callTimeoutMs: 1500,
      });
      const calls = [
        store.get("/x"),
        store.put("/x", "1", { expectModRevision: 0 }),
        store.list("/"),
      ];
      const closing = delay === 30 ? store.close() : null;
      for (const r of await Promise.allSettled(calls)) {
        assert.equal(r.status, "rejected");
        const err = (r as PromiseRejectedResult).reason as Error;
        assert.ok(err instanceof StoreUnavailableError, `${err.name}: ${err.message}`);
      }
      await assert.rejects(store.watch("/", 0, recorder().handlers), StoreUnavailableError);
      await (closing ?? store.close());
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(crashes, []);
  } finally {
    process.off("uncaughtException", onCrash);
    for (const s of sockets) s.destroy();
    rude.close();
  }
});

/**
 * A proxy that forwards requests to etcd but, once `mute` is set, drops
 * etcd's answers: requests are applied, their answers lost (the ambiguous
 * case a retry must re-validate).
 */
async function answerDropper(targetPort: number) {
  const state = { mute: false };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on("data", (d: Buffer) => {
      if (!state.mute) client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    state,
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test("a compare-and-swap whose answer is lost is sent again and re-validated: success, written once", async () => {
  const p = await answerDropper(etcd.clientPort);
  const store = new EtcdStore({ endpoints: [p.endpoint, etcd.endpoint] });
  try {
    const first = await store.put("/client/cas/k", "v1");
    p.state.mute = true; // etcd applies the next write; its answer never arrives
    const r = await store.put("/client/cas/k", "v2", { expectModRevision: first.revision });
    assert.equal(r.ok, true, "the lost attempt's write is recognised as this put's");
    const kv = await store.get("/client/cas/k");
    assert.equal(kv?.value, "v2");
    assert.equal(kv?.version, 2, "written once");
    assert.equal(r.revision, kv?.modRevision);
    assert.ok(store.client.stats.retries >= 1);
    // A real conflict is still reported as one.
    const stale = await store.put("/client/cas/k", "v3", { expectModRevision: first.revision });
    assert.equal(stale.ok, false);
    assert.equal(stale.current?.value, "v2");
  } finally {
    await store.close();
    p.close();
  }
});

test("the server's /metrics: every etcd endpoint's health, also inside a kubernetes:?others= store", async () => {
  const p = await proxy();
  // Pods on the etcd directly, the other keys (ledger, leases) through the proxy.
  const pods = new EtcdStore({ endpoints: [etcd.endpoint] });
  const others = new EtcdStore({ endpoints: [p.endpoint], callTimeoutMs: 1500 });
  const srv = await startTestServer(new PrefixRoutedStore("/registry/pods/", pods, others));
  const healthy = async (endpoint: string) => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const line = new RegExp(
      `^domeos_etcd_endpoint_healthy\\{cluster="default",endpoint="${endpoint}"\\} (\\d)$`,
      "m",
    ).exec(text);
    return line ? Number(line[1]) : null;
  };
  try {
    assert.equal(await healthy(etcd.endpoint), 1);
    assert.equal(await healthy(p.endpoint), 1);
    p.partition();
    await assert.rejects(others.get("/client/metrics/k"), StoreUnavailableError);
    assert.equal(await healthy(p.endpoint), 0, "the cut endpoint is shown unhealthy");
    assert.equal(await healthy(etcd.endpoint), 1);
  } finally {
    await srv.close();
    await pods.close();
    await others.close();
    await p.close();
  }
});
