// Traffic truth, end to end with the real bin/domeos-confd, the example
// resource (template, reload budget) and the example nginx location settings
// on a real nginx, on a real etcd and on the embedded store:
// - a scale-up with one malformed pod object and one AUTO_PORT0="abc" pod:
//   every other new pod is routed; the bad ones are named in the log,
//   /healthz and /metrics;
// - a 100% scale-down through ordinary deletes empties the upstream at once;
// - -onetime after a scale-down applies it and exits 0;
// - a pod rewriting its port in a burst costs a bounded number of reloads,
//   and the last port is the one routed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import type { Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { NginxServer } from "../support/nginx.js";
import { freePort } from "../support/ports.js";
import {
  Backend,
  Confd,
  confdArgs,
  exampleLocation,
  exampleReloadBudget,
  makeConfdir,
  metricValue,
  PODS,
  podFor,
  readText,
  routedTo,
  runConfd,
  sameSet,
  until,
} from "./nginx-harness.js";

const serverLines = (file: string) =>
  (file.match(/server 127\.0\.0\.1:\d+ max_fails/g) ?? []).length;

interface Rig {
  store: Store;
  nginx: NginxServer;
  confd: Confd;
  dest: string;
  metricsUrl: string;
  healthUrl: string;
  backends: Backend[];
  expectRoutes(names: string[], what: string): Promise<void>;
}

/** A store of the given kind, nginx with the example location, confd with the example resource. */
function rig(kind: "etcd" | "embedded", backendCount: number): Rig {
  const etcd = kind === "etcd" ? new EtcdServer() : null;
  const dataDir = kind === "embedded" ? mkdtempSync(join(tmpdir(), "confd-traffic-")) : "";
  const nginx = new NginxServer();
  const backends = Array.from({ length: backendCount }, (_, i) => new Backend(`b${i}`));
  let confdir = "";
  const r = {
    nginx,
    backends,
    dest: "",
    metricsUrl: "",
    healthUrl: "",
  } as Rig;
  before(async () => {
    let node: string;
    if (etcd) {
      await etcd.start();
      r.store = new EtcdStore({ endpoints: [etcd.endpoint] });
      node = etcd.endpoint;
    } else {
      r.store = new EmbeddedStore(join(dataDir, "store"), { synchronous: "normal" });
      node = dataDir;
    }
    for (const b of backends) await b.start();
    await nginx.configure("img_cs_group", exampleLocation());
    ({ confdir, dest: r.dest } = makeConfdir(nginx, exampleReloadBudget()));
    const metricsPort = await freePort();
    r.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    r.healthUrl = `http://127.0.0.1:${metricsPort}/healthz`;
    r.confd = new Confd([
      ...confdArgs(confdir, etcd ? "etcdv3" : "embedded", node),
      "-watch",
      "-metrics-addr",
      `127.0.0.1:${metricsPort}`,
    ]);
    // Three pods before confd starts: the first render has servers.
    for (const i of [0, 1, 2])
      await r.store.put(`${PODS}/web-${i}`, podFor(`web-${i}`, "127.0.0.1", backends[i].port));
    r.confd.start();
    await until(() => serverLines(readText(r.dest)) === 3, 20_000, "the first render");
    await nginx.start();
  });
  after(async () => {
    await r.confd?.stop();
    await nginx.destroy();
    for (const b of backends) await b.stop();
    await r.store?.close();
    await etcd?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (confdir) rmSync(confdir, { recursive: true, force: true });
  });
  r.expectRoutes = async (names, what) => {
    await until(
      async () => sameSet(await routedTo(nginx.port, names.length * 4), names),
      15_000,
      what,
    );
  };
  return r;
}

/** Scale 3 -> 9 with one malformed pod and one AUTO_PORT0="abc" pod among the new ones. */
async function scaleUpWithBadPods(r: Rig): Promise<void> {
  await r.expectRoutes(["b0", "b1", "b2"], "the first three pods");
  await r.store.put(`${PODS}/web-3`, podFor("web-3", "127.0.0.1", r.backends[3].port));
  await r.store.put(`${PODS}/web-bad-json`, '{"metadata": {"annotations": {"accessType": "DIY"');
  await r.store.put(`${PODS}/web-4`, podFor("web-4", "127.0.0.1", r.backends[4].port));
  await r.store.put(`${PODS}/web-bad-port`, podFor("web-bad-port", "127.0.0.1", "abc"));
  for (const i of [5, 6, 7])
    await r.store.put(`${PODS}/web-${i}`, podFor(`web-${i}`, "127.0.0.1", r.backends[i].port));
  const all = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
  await r.expectRoutes(all, "every good new pod routed despite the two bad ones");
  const file = readText(r.dest);
  assert.equal(serverLines(file), 8);
  assert.ok(!file.includes("abc"));
  assert.match(
    r.confd.stderr,
    /leaving \/registry\/pods\/default\/web-bad-json out of the rendered view: render error: .*unexpected end of JSON input/,
  );
  assert.match(
    r.confd.stderr,
    /leaving \/registry\/pods\/default\/web-bad-port out of the rendered view: check failed: .*invalid port in upstream .*\(traced in \d+ checks\)/,
  );
  const health = (await (await fetch(r.healthUrl)).json()) as {
    resources: { healthy: boolean; excludedKeys?: { key: string; reason: string }[] }[];
  };
  assert.equal(health.resources[0].healthy, true);
  assert.deepEqual(
    health.resources[0].excludedKeys?.map((e) => e.key),
    [`${PODS}/web-bad-json`, `${PODS}/web-bad-port`],
  );
  for (const k of ["web-bad-json", "web-bad-port"])
    assert.equal(await metricValue(r.metricsUrl, "confd_excluded_key", { key: `${PODS}/${k}` }), 1);
  // Fixed: the pod is routed at the next render, and no longer named.
  await r.store.put(
    `${PODS}/web-bad-port`,
    podFor("web-bad-port", "127.0.0.1", r.backends[8].port),
  );
  await r.expectRoutes([...all, "b8"], "the fixed pod routed");
  assert.equal(
    await metricValue(r.metricsUrl, "confd_excluded_key", { key: `${PODS}/web-bad-port` }),
    0,
  );
}

for (const kind of ["etcd", "embedded"] as const) {
  describe(`one bad pod never holds back the others (${kind}, nginx)`, () => {
    const r = rig(kind, 9);
    test("scale-up with a malformed pod and AUTO_PORT0=abc: all other new pods routed", () =>
      scaleUpWithBadPods(r));

    test("a 100% scale-down through deletes empties the upstream at once", async (t) => {
      const keys = (await r.store.list(`${PODS}/`)).kvs.map((kv) => kv.key);
      const t0 = Date.now();
      for (const k of keys) await r.store.delete(k);
      await until(() => serverLines(readText(r.dest)) === 0, 10_000, "an empty upstream");
      const ms = Date.now() - t0;
      assert.ok(ms < 5000, `applied after ${ms} ms`);
      t.diagnostic(`${keys.length} pods deleted, upstream empty after ${ms} ms`);
      assert.match(readText(r.dest), /server 127\.0\.0\.1:1 down;/);
      await r.expectRoutes(["502"], "nginx to answer 502 with no pods");
      assert.doesNotMatch(r.confd.stderr, /holding a suspicious snapshot/);
      assert.equal(await metricValue(r.metricsUrl, "confd_excluded_key"), 0);
    });
  });
}

describe("reload budget and -onetime scale-down (etcd, nginx)", () => {
  const r = rig("etcd", 4);

  test("a burst of 40 port rewrites: bounded reloads, the last port routed", async (t) => {
    await r.expectRoutes(["b0", "b1", "b2"], "the first three pods");
    const reloads = () => metricValue(r.metricsUrl, "confd_reloads_total", { result: "ok" });
    await until(async () => (await fetch(r.healthUrl)).ok, 10_000, "a healthy confd");
    const before = await reloads();
    const t0 = Date.now();
    for (let n = 0; n < 40; n++) {
      const port = n % 2 === 0 ? r.backends[2].port : r.backends[3].port;
      await r.store.put(`${PODS}/web-2`, podFor("web-2", "127.0.0.1", port));
      await new Promise((res) => setTimeout(res, 20));
    }
    const burstMs = Date.now() - t0;
    // The last write points web-2 at b3.
    await r.expectRoutes(["b0", "b1", "b3"], "the last state");
    // Anything still scheduled fires within wait max + reload_min_interval.
    await new Promise((res) => setTimeout(res, 2000));
    const spent = (await reloads()) - before;
    // At most one reload per 500 ms of burst, plus the trailing one.
    const budget = Math.ceil(burstMs / 500) + 2;
    assert.ok(
      spent >= 1 && spent <= budget,
      `${spent} reloads for 40 changes in ${burstMs} ms (budget ${budget})`,
    );
    assert.ok(spent < 10, `${spent} reloads`);
    t.diagnostic(`${spent} reloads for 40 changes in ${burstMs} ms`);
  });

  test("-onetime after a scale-down 3 -> 1 applies it and exits 0", async () => {
    await r.confd.stop();
    for (const i of [1, 2]) await r.store.delete(`${PODS}/web-${i}`);
    const confdir = r.confd.args[r.confd.args.indexOf("-confdir") + 1];
    const node = r.confd.args[r.confd.args.indexOf("-node") + 1];
    const onetime = ["-onetime", ...confdArgs(confdir, "etcdv3", node)];
    assert.equal(serverLines(readText(r.dest)), 3);
    const run = await runConfd(onetime);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(serverLines(readText(r.dest)), 1);
    await r.expectRoutes(["b0"], "nginx reloaded by -onetime");
    // And an empty store: confirmed by a re-read, applied, exit 0.
    await r.store.delete(`${PODS}/web-0`);
    const empty = await runConfd(onetime);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /holding a suspicious snapshot: re-reading to confirm .*empty read/);
    assert.equal(serverLines(readText(r.dest)), 0);
  });
});
