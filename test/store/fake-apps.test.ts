// The FAKE apiserver's apps/v1 side (test/store/fake-apps.ts) keeps the
// rules of the real one that clients rely on: server-side apply needs a
// field manager and names the object of the URL, generation moves with the
// spec only, a no-op keeps the resourceVersion (opaque, not a number),
// resourceVersion preconditions answer 409, the selector must match the
// template and cannot change, lists take label selectors, a Deployment's
// ReplicaSets go with it, every write is checked against the type's schema
// (422) and may be denied by admission (403). And its FAKE controller reacts to any writer, e.g.
// a merge patch of the template as `kubectl rollout undo` sends.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeApiServer } from "./fake-apiserver.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects read as plain JSON
type Json = any;

const PATH = "/apis/apps/v1/namespaces/shop/deployments/web";
const APPLY = `${PATH}?fieldManager=test&force=true`;

function deployment(image: string, extra: Json = {}): Json {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", labels: { app: "web" }, ...extra.metadata },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image }] },
      },
      ...extra.spec,
    },
  };
}

describe("FAKE apiserver: apps/v1 Deployments and ReplicaSets", () => {
  const api = new FakeApiServer();
  before(() => api.start());
  after(() => api.stop());

  const call = async (method: string, path: string, body?: unknown, type?: string) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${api.token}`,
        ...(body === undefined ? {} : { "content-type": type ?? "application/apply-patch+yaml" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  test("apply creates (201) with the apiserver's defaults, then updates (200); generation follows the spec only", async () => {
    const created = await call("PATCH", APPLY, deployment("reg/web:1"));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const d = created.body;
    assert.equal(d.metadata.generation, 1);
    assert.doesNotMatch(d.metadata.resourceVersion, /^\d+$/, "opaque, not a number");
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
    });
    await api.apps.controllerIdle();
    const labelled = await call(
      "PATCH",
      APPLY,
      deployment("reg/web:1", { metadata: { annotations: { note: "x" } } }),
    );
    assert.equal(labelled.status, 200);
    assert.equal(labelled.body.metadata.generation, 1, "metadata only: same generation");
    const same = await call(
      "PATCH",
      APPLY,
      deployment("reg/web:1", { metadata: { annotations: { note: "x" } } }),
    );
    assert.equal(same.body.metadata.resourceVersion, labelled.body.metadata.resourceVersion);
    const scaled = await call("PATCH", APPLY, deployment("reg/web:1", { spec: { replicas: 3 } }));
    assert.equal(scaled.body.metadata.generation, 2);
    await api.apps.controllerIdle();
    const read = await call("GET", PATH);
    assert.equal(read.body.status.observedGeneration, 2);
    assert.equal(read.body.metadata.annotations["deployment.kubernetes.io/revision"], "1");
    assert.equal(read.body.metadata.annotations.note, undefined, "no longer applied: removed");
  });

  test("bad applies are refused and change nothing", async () => {
    const before = (await call("GET", PATH)).body.metadata.resourceVersion;
    const noManager = await call("PATCH", PATH, deployment("reg/web:2"));
    assert.equal(noManager.status, 422);
    assert.match(noManager.body.message, /fieldManager: Required value/);
    const otherName = await call(
      "PATCH",
      APPLY,
      deployment("reg/web:2", { metadata: { name: "api" } }),
    );
    assert.equal(otherName.status, 400);
    assert.match(otherName.body.message, /does not match the name on the URL/);
    const mismatch = await call(
      "PATCH",
      APPLY,
      deployment("reg/web:2", { spec: { selector: { matchLabels: { app: "other" } } } }),
    );
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.body.message, /`selector` does not match template `labels`/);
    const moved = deployment("reg/web:2", {
      spec: { selector: { matchLabels: { app: "web", tier: "x" } } },
    });
    moved.spec.template.metadata.labels.tier = "x";
    const immutable = await call("PATCH", APPLY, moved);
    assert.equal(immutable.status, 422);
    assert.match(immutable.body.message, /spec\.selector: .*field is immutable/);
    const stale = await call(
      "PATCH",
      PATH,
      { metadata: { resourceVersion: "fake-rv.1" }, spec: { replicas: 9 } },
      "application/merge-patch+json",
    );
    assert.equal(stale.status, 409);
    const unknown = await call("PATCH", PATH, "{}", "application/yaml");
    assert.equal(unknown.status, 415);
    // the schema, as the apiserver validates every write: a typo is refused, not stored
    const typo = deployment("reg/web:2");
    typo.spec.template.spec.hostNetwork = "true";
    const invalid = await call("PATCH", APPLY, typo);
    assert.equal(invalid.status, 422);
    assert.match(
      invalid.body.message,
      /Deployment\.apps "web" is invalid: .*hostNetwork must be boolean/,
    );
    const badSecret = await call("PATCH", "/api/v1/namespaces/shop/secrets/s?fieldManager=test", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      stringData: { k: 1 },
    });
    assert.equal(badSecret.status, 422);
    assert.match(badSecret.body.message, /^Secret "s" is invalid: .*stringData/);
    // an admission webhook's denial: 403, nothing stored
    api.apps.admit((o) => (o.kind === "Deployment" ? "images must come from reg/" : undefined));
    try {
      const denied = await call("PATCH", APPLY, deployment("reg/web:2"));
      assert.equal(denied.status, 403);
      assert.match(
        denied.body.message,
        /admission webhook "fake\.domeos\.test" denied the request: images must come from reg\//,
      );
    } finally {
      api.apps.admit(null);
    }
    assert.equal((await call("GET", PATH)).body.metadata.resourceVersion, before);
  });

  test("a merge patch of the template (kubectl's way) rolls a new ReplicaSet; lists take label selectors", async () => {
    const patched = await call(
      "PATCH",
      PATH,
      { spec: { template: { spec: { containers: [{ name: "web", image: "reg/web:2" }] } } } },
      "application/merge-patch+json",
    );
    assert.equal(patched.status, 200);
    await api.apps.controllerIdle();
    const all = await call(
      "GET",
      "/apis/apps/v1/namespaces/shop/replicasets?labelSelector=app%3Dweb",
    );
    assert.equal(all.body.kind, "ReplicaSetList");
    assert.deepEqual(
      all.body.items
        .map((rs: Json) => [
          rs.metadata.annotations["deployment.kubernetes.io/revision"],
          rs.spec.replicas,
        ])
        .sort(),
      [
        ["1", 0],
        ["2", 3],
      ],
    );
    const hash = all.body.items[0].metadata.labels["pod-template-hash"];
    const one = await call(
      "GET",
      `/apis/apps/v1/namespaces/shop/replicasets?labelSelector=${encodeURIComponent(`app=web,pod-template-hash=${hash}`)}`,
    );
    assert.equal(one.body.items.length, 1);
    const none = await call(
      "GET",
      "/apis/apps/v1/namespaces/shop/replicasets?labelSelector=app%21%3Dweb",
    );
    assert.equal(none.body.items.length, 0);
    const bad = await call(
      "GET",
      "/apis/apps/v1/namespaces/shop/replicasets?labelSelector=a%3D%3D%3Db",
    );
    assert.equal(bad.status, 400);
  });

  test("DELETE takes the Deployment's ReplicaSets with it; then 404", async () => {
    assert.equal((await call("DELETE", PATH)).status, 200);
    assert.equal(api.apps.replicaSets("shop").length, 0);
    assert.equal((await call("GET", PATH)).status, 404);
    assert.equal((await call("DELETE", PATH)).status, 404);
  });
});
