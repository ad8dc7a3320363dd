// The Kubernetes API adapter against a FAKE apiserver (test/store/fake-apiserver.ts:
// no real apiserver can run here). Checks the requests it sends as much as
// what it returns.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { KubernetesStore } from "../../src/store/kubernetes.js";
import { ResourceVersions } from "../../src/store/kubernetes-rv.js";
import { mergeAnnotations, PodNotFoundError } from "../../src/store/merge.js";
import { openStore } from "../../src/store/open.js";
import { CompactedError, StoreUnavailableError } from "../../src/store/store.js";
import { eventually, recorder } from "./contract.js";
import { FakeApiServer } from "./fake-apiserver.js";
import { kubeconfigYaml, kubernetesStoreUrl, writeKubeconfig } from "./fake-cluster.js";

const api = new FakeApiServer();
let store: KubernetesStore;
const tmp = mkdtempSync(join(tmpdir(), "store-k8s-"));

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml({ url: server, token: api.token }));
  return kc;
}

const pod = (ns: string, name: string, annotations: Record<string, string> = {}) => ({
  metadata: { name, namespace: ns, annotations },
  spec: { hostNetwork: true, containers: [{ name: "app", image: "nginx" }] },
  status: { podIP: "10.1.0.7", phase: "Running" },
});

before(async () => {
  await api.start();
  store = new KubernetesStore(kubeConfig(api.url));
  api.upsertPod(pod("default", "web-1", { deployName: "web" }));
  api.upsertPod(pod("default", "web-2", { deployName: "web" }));
  api.upsertPod(pod("other", "db-1"));
});
after(async () => {
  await store.close();
  await api.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test("list: pods as /registry/pods keys with Pod JSON, revision from the list", async () => {
  const all = await store.list("/registry/pods/");
  assert.deepEqual(
    all.kvs.map((kv) => kv.key),
    ["/registry/pods/default/web-1", "/registry/pods/default/web-2", "/registry/pods/other/db-1"],
  );
  const v = JSON.parse(all.kvs[0].value);
  assert.equal(v.kind, "Pod");
  assert.equal(v.apiVersion, "v1");
  assert.equal(v.status.podIP, "10.1.0.7");
  assert.match(v.metadata.resourceVersion, /^fake-rv\./, "opaque, passed through as is");
  assert.equal(all.kvs[0].modRevision, (await store.get(all.kvs[0].key))!.modRevision);
  assert.equal(all.revision, await store.revision(), "nothing changed: the same revision");
  const def = await store.list("/registry/pods/default/");
  assert.equal(def.kvs.length, 2);
  assert.ok(api.requests.some((r) => r.path.startsWith("/api/v1/namespaces/default/pods?")));
  const paged = new KubernetesStore(kubeConfig(api.url), { pageSize: 1 });
  assert.deepEqual((await paged.list("/registry/pods/")).kvs, all.kvs, "paging returns the same");
});

test("get, and keys the adapter refuses before any request", async () => {
  const kv = await store.get("/registry/pods/default/web-1");
  assert.equal(JSON.parse(kv!.value).metadata.annotations.deployName, "web");
  assert.equal(await store.get("/registry/pods/default/nope"), null);
  const n = api.requests.length;
  await assert.rejects(store.get("/domeos/ledger/host/20000"), /stores only pods/);
  await assert.rejects(store.get("/registry/pods/../x"), /namespace is not a DNS-1123 label/);
  await assert.rejects(store.get("/registry/pods/default/a/b"), /is not \/registry\/pods/);
  await assert.rejects(store.list("/domeos/"), /stores only pods/);
  await assert.rejects(store.grantLease(5), /leases are not supported/);
  assert.equal(api.requests.length, n, "nothing was sent");
});

test("100 concurrent annotation merges: one merge patch each, all present", async () => {
  api.upsertPod(pod("default", "merge-me", { deployName: "web" }));
  const before = api.requests.length;
  const key = "/registry/pods/default/merge-me";
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      mergeAnnotations(store, key, { [`AUTO_PORT${i}`]: `${20000 + i}` }),
    ),
  );
  const ann = (api.pod("default", "merge-me")!.metadata as { annotations: Record<string, string> })
    .annotations;
  for (let i = 0; i < 100; i++) assert.equal(ann[`AUTO_PORT${i}`], `${20000 + i}`);
  assert.equal(ann.deployName, "web");
  const sent = api.requests.slice(before);
  assert.equal(sent.length, 100);
  assert.ok(
    sent.every((r) => r.method === "PATCH" && r.contentType === "application/merge-patch+json"),
  );
  assert.ok(sent.every((r) => r.authorization === `Bearer ${api.token}`));
  await assert.rejects(
    mergeAnnotations(store, "/registry/pods/default/ghost", { a: "1" }),
    PodNotFoundError,
  );
});

test("put: compare-and-swap on resourceVersion, annotations only, removals as null", async () => {
  api.upsertPod(pod("default", "cas", { keep: "1", drop: "2" }));
  const key = "/registry/pods/default/cas";
  const cur = (await store.get(key))!;
  const next = JSON.parse(cur.value);
  next.metadata.annotations = { keep: "1", added: "3" };
  next.status.podIP = "6.6.6.6"; // not an annotation: ignored
  const stale = await store.put(key, JSON.stringify(next), {
    expectModRevision: cur.modRevision - 1,
  });
  assert.equal(stale.ok, false);
  assert.equal(stale.current?.modRevision, cur.modRevision);
  const ok = await store.put(key, JSON.stringify(next), { expectModRevision: cur.modRevision });
  assert.equal(ok.ok, true);
  const stored = api.pod("default", "cas")! as {
    metadata: { annotations: object };
    status: { podIP: string };
  };
  assert.deepEqual(stored.metadata.annotations, { keep: "1", added: "3" });
  assert.equal(stored.status.podIP, "10.1.0.7");
  const patch = JSON.parse(api.requests.at(-1)!.body);
  assert.deepEqual(patch, {
    metadata: {
      annotations: { keep: "1", added: "3", drop: null },
      resourceVersion: JSON.parse(cur.value).metadata.resourceVersion,
    },
  });
  await assert.rejects(
    store.put("/registry/pods/default/new", JSON.stringify(pod("default", "new"))),
    /cannot create pods/,
  );
  assert.equal((await store.put(key, "{}", { expectModRevision: 0 })).ok, false, "exists already");
});

test("delete with a resourceVersion precondition", async () => {
  api.upsertPod(pod("default", "gone"));
  const key = "/registry/pods/default/gone";
  const cur = (await store.get(key))!;
  assert.equal((await store.delete(key, { expectModRevision: cur.modRevision + 5 })).ok, false);
  assert.notEqual(api.pod("default", "gone"), undefined);
  assert.equal((await store.delete(key, { expectModRevision: cur.modRevision })).ok, true);
  assert.equal(api.pod("default", "gone"), undefined);
});

test("watch from a revision: replay, live, deletes, namespace filter; resumes after a dropped stream", async () => {
  const from = (await store.revision()) + 1;
  api.upsertPod(pod("watch", "a"));
  api.upsertPod(pod("default", "not-watched"));
  const rec = recorder();
  const w = await store.watch("/registry/pods/watch/", from, rec.handlers);
  await eventually(() => rec.events.length === 1, "replayed ADDED");
  api.upsertPod(pod("watch", "a", { AUTO_PORT0: "20001" }));
  const delRv = api.removePod("watch", "a");
  await eventually(() => rec.events.length === 3, "live MODIFIED and DELETED");
  api.dropWatches(); // the next event happens while the adapter reconnects
  api.upsertPod(pod("watch", "b"));
  await eventually(() => rec.events.length === 4, "event after the stream was dropped");
  await w.close();
  assert.deepEqual(rec.errors, []);
  assert.deepEqual(
    rec.events.map((e) => [e.type, e.type === "put" ? e.kv.key : e.key]),
    [
      ["put", "/registry/pods/watch/a"],
      ["put", "/registry/pods/watch/a"],
      ["delete", "/registry/pods/watch/a"],
      ["put", "/registry/pods/watch/b"],
    ],
  );
  assert.ok(rec.batches[0]! >= from);
  assert.ok(
    rec.batches.every((b, i) => i === 0 || b > rec.batches[i - 1]!),
    `batches rise: ${rec.batches}`,
  );
  const deleted = rec.events[2]!;
  assert.equal(
    deleted.type === "delete" && JSON.parse(deleted.prev!.value).metadata.resourceVersion,
    delRv,
  );
  const modified = rec.events[1];
  assert.equal(
    modified.type === "put" && JSON.parse(modified.kv.value).metadata.annotations.AUTO_PORT0,
    "20001",
  );
});

test("watch from a compacted revision ends with CompactedError (410 Gone)", async () => {
  const old = await store.revision();
  api.upsertPod(pod("compact", "x"));
  const later = api.upsertPod(pod("compact", "x", { v: "2" }));
  api.compact(later);
  const rec = recorder();
  await store.watch("/registry/pods/compact/", old + 1, rec.handlers);
  await eventually(() => rec.errors.length === 1, "CompactedError");
  assert.ok(rec.errors[0] instanceof CompactedError, String(rec.errors[0]));
  assert.ok((rec.errors[0] as CompactedError).compactRevision > old);
  const sent = api.requests.filter((r) => r.path.includes("watch=true")).at(-1)!;
  assert.match(sent.path, /resourceVersion=fake-rv\./, "the resourceVersion the list gave, as is");
});

test("resourceVersions: opaque strings get revisions in the order seen; forgotten ones act compacted", () => {
  const rvs = new ResourceVersions(3);
  const a = rvs.revisionOf("zz-9", "t");
  const b = rvs.revisionOf("aa-1", "t"); // "smaller" as a string or number: irrelevant
  assert.ok(b > a);
  assert.equal(rvs.revisionOf("zz-9", "t"), a, "the same string, the same revision");
  assert.equal(rvs.rvOf(b), "aa-1");
  assert.equal(rvs.watchStart(b + 1), "aa-1", "watch from b+1 = after aa-1");
  assert.equal(rvs.watchStart(b + 100), "aa-1", "beyond the newest: from the newest");
  // A watch re-raises a revision it saw before its start, so callers never skip it.
  const again = rvs.revisionAbove("zz-9", b, "t");
  assert.ok(again > b);
  assert.equal(rvs.rvOf(again), "zz-9");
  rvs.revisionOf("c", "t");
  rvs.revisionOf("d", "t");
  assert.equal(rvs.rvOf(a), undefined, "the oldest is forgotten past the capacity");
  assert.equal(rvs.watchStart(a + 1), undefined, "watching from it: compacted");
  assert.throws(
    () => rvs.revisionOf(undefined, "get x"),
    /get x: the apiserver sent no resourceVersion/,
  );
});

test("openStore('kubernetes:?kubeconfig=...') and an unreachable apiserver", async () => {
  const file = writeKubeconfig(api, join(tmp, "kubeconfig"));
  const s = await openStore(`kubernetes:?kubeconfig=${file}`);
  assert.match(s.description, /^kubernetes http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(await s.get("/registry/pods/default/web-1"), null);
  await s.close();
  await assert.rejects(openStore("kubernetes:?kubconfig=x"), /unknown parameter "kubconfig"/);

  const down = new FakeApiServer();
  await down.start();
  const url = down.url;
  await down.stop();
  const going = new FakeApiServer();
  await going.start();
  const rec = recorder();
  await new KubernetesStore(kubeConfig(going.url)).watch("/registry/pods/", 0, rec.handlers);
  await going.stop();
  await eventually(() => rec.errors.length === 1, "watch ends when the apiserver goes away");
  assert.ok(rec.errors[0] instanceof StoreUnavailableError, String(rec.errors[0]));

  const dead = new KubernetesStore(kubeConfig(url), { callTimeoutMs: 2000 });
  const t0 = Date.now();
  await assert.rejects(dead.get("/registry/pods/default/web-1"), StoreUnavailableError);
  await assert.rejects(
    dead.watch("/registry/pods/", 0, recorder().handlers),
    StoreUnavailableError,
  );
  assert.ok(Date.now() - t0 < 5000);
});

test("kubernetes:?others=...: pods in the apiserver, the ledger in another store", async () => {
  const file = writeKubeconfig(api, join(tmp, "kubeconfig-routed"));
  const s = await openStore(kubernetesStoreUrl(file, `embedded:${join(tmp, "ledger")}`));
  try {
    assert.match(s.description, /^kubernetes http:.*\(\/registry\/pods\/\*\), embedded .*ledger/);
    const k = "/domeos/ports/node-1/20000";
    assert.equal((await s.put(k, "default/web-1", { expectModRevision: 0 })).ok, true);
    assert.equal((await s.put(k, "default/web-2", { expectModRevision: 0 })).ok, false);
    assert.deepEqual(
      (await s.list("/domeos/")).kvs.map((kv) => kv.value),
      ["default/web-1"],
    );
    const lease = await s.grantLease(30);
    await lease.revoke();
    const before = api.requests.length;
    await mergeAnnotations(s, "/registry/pods/default/web-2", { AUTO_PORT0: "20000" });
    assert.equal(api.requests.length, before + 1, "one merge patch to the apiserver");
    assert.equal(
      (api.pod("default", "web-2")!.metadata as { annotations: Record<string, string> }).annotations
        .AUTO_PORT0,
      "20000",
    );
    assert.equal((await s.list("/registry/pods/default/")).kvs.length >= 2, true);
    await assert.rejects(s.list("/"), /spans both stores/);
  } finally {
    await s.close();
  }
  await assert.rejects(
    openStore("kubernetes:?others=kubernetes:"),
    /others= must name an etcd or embedded store/,
  );
});

test("bookmarks move the resume point: a stream ended after a compaction resumes without 410", async () => {
  const from = (await store.revision()) + 1;
  const rec = recorder();
  const w = await store.watch("/registry/pods/quiet/", from, rec.handlers);
  // Activity elsewhere moves the resourceVersion on; this watch sees none of it.
  for (let i = 0; i < 5; i++) api.upsertPod(pod("busy", `b${i}`));
  const sent = () => api.requests.filter((r) => r.path.includes("/namespaces/quiet/pods?"));
  await eventually(() => sent().length === 1, "the watch request");
  // The stream delivers the bookmark before it ends (the apiserver's watch timeout).
  const bookmarkRv = api.bookmark();
  api.compact(bookmarkRv);
  api.endWatches();
  await eventually(() => sent().length === 2, "the watch reopened");
  api.upsertPod(pod("quiet", "q"));
  await eventually(() => rec.events.length === 1, "the event after the reopen");
  await w.close();
  assert.deepEqual(rec.errors, [], "resumed from the bookmark, not from the compacted start");
  assert.match(sent()[0]!.path, /allowWatchBookmarks=true/);
  const resumeRv = new URL(sent()[1]!.path, "http://x").searchParams.get("resourceVersion");
  assert.equal(resumeRv, bookmarkRv);
});

test("fake apiserver behaves like the real one: patch types, no-op patches, graceful deletion", async () => {
  api.upsertPod({ ...pod("fake", "bound"), spec: { nodeName: "node-1", containers: [] } });
  const url = `${api.url}/api/v1/namespaces/fake/pods/bound`;
  const call = (method: string, type: string | undefined, body?: unknown) =>
    fetch(url, {
      method,
      headers: { authorization: `Bearer ${api.token}`, ...(type ? { "content-type": type } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      // biome-ignore lint/suspicious/noExplicitAny: API objects walked as plain JSON
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));
  assert.equal((await call("PATCH", "application/apply-patch+yaml", {})).status, 415);
  const rv0 = api.pod("fake", "bound")!.metadata as { resourceVersion: string };
  const noop = await call("PATCH", "application/merge-patch+json", {
    metadata: { annotations: {} },
  });
  assert.equal(
    noop.body.metadata.resourceVersion,
    rv0.resourceVersion,
    "no change, no new version",
  );
  const conflict = await call("PATCH", "application/merge-patch+json", {
    metadata: { resourceVersion: "fake-rv.1", annotations: { a: "1" } },
  });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.reason, "Conflict");
  const smp = await call("PATCH", "application/strategic-merge-patch+json", {
    status: { conditions: [{ type: "Ready", status: "True" }] },
  });
  assert.deepEqual(smp.body.status.conditions, [{ type: "Ready", status: "True" }]);
  const jp = await call("PATCH", "application/json-patch+json", [
    { op: "test", path: "/metadata/name", value: "bound" },
    { op: "add", path: "/metadata/annotations/x", value: "y" },
  ]);
  assert.equal(jp.body.metadata.annotations.x, "y");
  const failedTest = await call("PATCH", "application/json-patch+json", [
    { op: "test", path: "/metadata/name", value: "other" },
  ]);
  assert.equal(failedTest.status, 422);
  // A pod bound to a node is deleted gracefully: deletionTimestamp first, gone when the kubelet confirms.
  const key = "/registry/pods/fake/bound";
  assert.equal((await store.delete(key)).ok, true);
  const deleting = JSON.parse((await store.get(key))!.value);
  assert.match(deleting.metadata.deletionTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  api.confirmDeletion("fake", "bound");
  assert.equal(await store.get(key), null);
});
