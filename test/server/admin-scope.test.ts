// Admin scope (issue 15): the cluster named in the query and in the body must
// agree (400 otherwise), and every admin route acts only on the cluster it
// names: its store, and the runtime asked about that cluster's pods. Two
// clusters on real stores (etcd and embedded), one test per route.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Deployment } from "../../src/server/deploy/model.js";
import { deploymentKey } from "../../src/server/deploy/repository.js";
import type { PodRuntime } from "../../src/server/deploy/runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

/** What the runtime was asked to do, with the cluster of the deployment it got. */
const calls: string[] = [];
const recording: PodRuntime = {
  name: "recording",
  ensure: async (d) =>
    void calls.push(`ensure ${d.cluster}/${d.namespace}/${d.name} x${d.replicas}`),
  remove: async (ns, name, d) => void calls.push(`remove ${d?.cluster}/${ns}/${name}`),
};

const web = { name: "web", image: "registry.example/web:1", replicas: 1, ports: 1 };

describe("admin scope: default on etcd, other on the embedded store", () => {
  let etcd: StoreFixture;
  let embedded: StoreFixture;
  let srv: RunningServer;
  const admin = (method: string, path: string, body?: unknown) =>
    request(method, `${srv.url}${path}`, body, bearer(ADMIN));
  const stored = async (fx: StoreFixture, name = "web") => {
    const kv = await fx.store.get(deploymentKey("default", name));
    return kv ? (JSON.parse(kv.value) as Deployment) : null;
  };
  before(async () => {
    etcd = await makeStore("etcd");
    embedded = await makeStore("embedded");
    srv = await startTestServer(etcd.store, {
      clusters: { default: etcd.store, other: embedded.store },
      runtime: recording,
    });
    // the same deployment name in both clusters
    for (const c of ["default", "other"]) {
      const r = await admin("POST", `/api/deployments?cluster=${c}`, web);
      assert.equal(r.status, 201, r.text);
    }
    calls.length = 0;
  });
  after(async () => {
    await srv.close();
    await etcd.destroy();
    await embedded.destroy();
  });

  test("POST: query and body disagree -> 400, nothing stored, runtime not asked", async () => {
    const r = await admin("POST", "/api/deployments?cluster=other", {
      ...web,
      name: "api",
      cluster: "default",
    });
    assert.equal(r.status, 400, r.text);
    assert.match(
      String(r.body.resultMsg),
      /"other" in the query and "default" in the body disagree/,
    );
    assert.equal(await stored(etcd, "api"), null);
    assert.equal(await stored(embedded, "api"), null);
    assert.deepEqual(calls, []);
  });

  test("POST: the body's cluster alone, or the query's alone, picks the store", async () => {
    const a = await admin("POST", "/api/deployments", { ...web, name: "api", cluster: "other" });
    assert.equal(a.status, 201, a.text);
    assert.equal((await stored(embedded, "api"))?.cluster, "other");
    assert.equal(await stored(etcd, "api"), null);
    const b = await admin("POST", "/api/deployments?cluster=other", { ...web, name: "api2" });
    assert.equal(b.status, 201, b.text);
    assert.equal((await stored(embedded, "api2"))?.cluster, "other");
    assert.deepEqual(calls.splice(0), [
      "ensure other/default/api x1",
      "ensure other/default/api2 x1",
    ]);
  });

  test("PATCH: query and body disagree -> 400, nothing scaled", async () => {
    const r = await admin("PATCH", "/api/deployments/default/web?cluster=other", {
      replicas: 5,
      cluster: "default",
    });
    assert.equal(r.status, 400, r.text);
    assert.equal((await stored(etcd))?.replicas, 1);
    assert.equal((await stored(embedded))?.replicas, 1);
    assert.deepEqual(calls, []);
  });

  test("PATCH ?cluster=other scales only other's deployment, runtime told cluster other", async () => {
    const r = await admin("PATCH", "/api/deployments/default/web?cluster=other", { replicas: 3 });
    assert.equal(r.status, 200, r.text);
    assert.equal((await stored(embedded))?.replicas, 3);
    assert.equal((await stored(etcd))?.replicas, 1);
    assert.deepEqual(calls.splice(0), ["ensure other/default/web x3"]);
  });

  test("a record stored under the wrong cluster (old servers) is acted on as its store's", async () => {
    // what the old bug left: in other's store, saying cluster default
    await embedded.store.put(
      deploymentKey("default", "legacy"),
      JSON.stringify({ ...web, name: "legacy", cluster: "default" }),
    );
    const r = await admin("PATCH", "/api/deployments/default/legacy?cluster=other", {
      replicas: 2,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body.result as Deployment).cluster, "other");
    const d = await admin("DELETE", "/api/deployments/default/legacy?cluster=other");
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(calls.splice(0), [
      "ensure other/default/legacy x2",
      "remove other/default/legacy",
    ]);
    assert.equal((await stored(etcd))?.replicas, 1, "default's web untouched");
  });

  test("GET one ?cluster=other answers other's deployment", async () => {
    const r = await admin("GET", "/api/deployments/default/web?cluster=other");
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body.result as Deployment).cluster, "other");
    assert.equal((r.body.result as Deployment).replicas, 3);
  });

  test("GET list ?cluster=other lists other's deployments only", async () => {
    const r = await admin("GET", "/api/deployments?cluster=other");
    assert.equal(r.status, 200, r.text);
    const list = r.body.result as Deployment[];
    assert.ok(list.length >= 1);
    assert.ok(list.every((d) => d.cluster === "other"));
    const def = await admin("GET", "/api/deployments");
    assert.ok((def.body.result as Deployment[]).every((d) => d.cluster === "default"));
  });

  test("GET manifest ?cluster=other renders CLUSTER_NAME other", async () => {
    const r = await admin("GET", "/api/deployments/default/web/manifest?cluster=other&format=json");
    assert.equal(r.status, 200, r.text);
    assert.match(JSON.stringify(r.body.result), /"name":"CLUSTER_NAME","value":"other"/);
  });

  test("DELETE ?cluster=other removes other's only; the runtime is told cluster other", async () => {
    const r = await admin("DELETE", "/api/deployments/default/web?cluster=other");
    assert.equal(r.status, 200, r.text);
    assert.equal(await stored(embedded), null);
    assert.equal((await stored(etcd))?.replicas, 1, "default's deployment stays");
    assert.deepEqual(calls.splice(0), ["remove other/default/web"]);
  });

  test("an unknown cluster is 404 and changes nothing", async () => {
    const r = await admin("DELETE", "/api/deployments/default/web?cluster=mars");
    assert.equal(r.status, 404, r.text);
    assert.ok(await stored(etcd));
    assert.deepEqual(calls, []);
  });
});
