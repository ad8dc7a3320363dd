// Rollouts on Kubernetes (--runtime kubernetes) against the FAKE apiserver
// and its FAKE Deployment controller (test/store/fake-apps.ts; no real
// apiserver can run here): ensure() with a new spec updates the Deployment
// object and the controller rolls; rolloutStatus() and revisions() read the
// Deployment and the ReplicaSets it owns; a rollback applies the spec a
// ReplicaSet carries and the controller adopts that ReplicaSet; a revision
// whose pods never become Ready fails with the controller's reason and the
// old pods keep serving.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  podProblem,
  revisionsFrom,
  statusFrom,
} from "../../src/server/deploy/kubernetes-rollout.js";
import { KubernetesRuntime } from "../../src/server/deploy/kubernetes-runtime.js";
import { SPEC_ANNOTATION } from "../../src/server/deploy/manifest-rollout.js";
import { type Deployment, parseDeployment } from "../../src/server/deploy/model.js";
import { specOf } from "../../src/server/deploy/rollout-store.js";
import type { DeployContext } from "../../src/server/deploy/runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { validateK8sObject } from "../support/k8s-schema.js";
import { until } from "../support/poll.js";
import {
  ADMIN,
  bearer,
  makeStore,
  request,
  runDeployCli,
  type StoreFixture,
  startTestServer,
} from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects read as plain JSON
type Json = any;

const ctx = (change?: DeployContext["change"]): DeployContext => ({
  serverAddr: "http://domeos:8080",
  deploymentToken: "deploy-token",
  podToken: () => "unused",
  change,
});

const v1: Deployment = parseDeployment({
  name: "web",
  namespace: "shop",
  image: "reg/web:1",
  ports: 1,
  replicas: 3,
  env: { COLOR: "blue" },
});
/** The COLOR variable of the app container, as an env map. */
const colorEnvOf = (template: Json): Record<string, string> =>
  Object.fromEntries(
    (template.spec.containers[0].env ?? [])
      .filter((e: Json) => e.name === "COLOR")
      .map((e: Json) => [e.name, e.value]),
  );
const pick = (o: Json, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

/** A pod of a ReplicaSet as the kubelet reports a crash loop. */
const crashingPod = (name: string, hash: string): Json => ({
  metadata: {
    name,
    namespace: "shop",
    labels: { deployName: "web", "pod-template-hash": hash },
  },
  spec: { nodeName: "node-a", containers: [{ name: "web", image: "reg/web:1" }] },
  status: {
    phase: "Running",
    conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
    containerStatuses: [
      {
        name: "web",
        ready: false,
        restartCount: 4,
        state: {
          waiting: {
            reason: "CrashLoopBackOff",
            message: "back-off 40s restarting failed container",
          },
        },
        lastState: {
          terminated: { exitCode: 3, reason: "Error", finishedAt: "2026-12-07T04:00:00Z" },
        },
      },
    ],
  },
});

const withEnv = (d: Deployment, env: Record<string, string>): Deployment => ({ ...d, env });

describe("kubernetes rollouts (FAKE apiserver and Deployment controller)", () => {
  const api = new FakeApiServer();
  let rt: KubernetesRuntime;
  const dep = (): Json => api.apps.get("Deployment", "shop", "web");
  const settled = async () => api.apps.controllerIdle();

  before(async () => {
    await api.start();
    rt = new KubernetesRuntime(api.kubeConfig());
  });
  after(() => api.stop());

  test("create: the Deployment rolls with surge 1 / unavailable 0, carries its spec, and is revision 1", async () => {
    assert.equal(rt.rollsItself, true);
    await rt.ensure(v1, ctx({ cause: "create", by: "admin", at: "2026-12-07T04:00:00.000Z" }));
    await settled();
    const d = dep();
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    assert.equal(d.spec.progressDeadlineSeconds, 120, "the model's default");
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.metadata.annotations["kubernetes.io/change-cause"], "create");
    assert.deepEqual(
      JSON.parse(d.spec.template.metadata.annotations[SPEC_ANNOTATION]),
      JSON.parse(JSON.stringify(specOf(v1))),
    );
    const status = await rt.rolloutStatus(v1);
    assert.deepEqual(
      { ...status, finishedAt: undefined, startedAt: undefined },
      {
        revision: 1,
        phase: "Complete",
        desired: 3,
        updated: 3,
        ready: 3,
        available: 3,
        oldPods: 0,
        finishedAt: undefined,
        startedAt: undefined,
      },
    );
    assert.equal(status.startedAt, "2026-12-07T04:00:00.000Z");
    assert.match(status.finishedAt ?? "", /^\d{4}-\d\d-\d\dT/);
    const history = await rt.revisions(v1);
    assert.deepEqual(history, [
      {
        revision: 1,
        spec: specOf(v1),
        createdAt: "2026-12-07T04:00:00.000Z",
        by: "admin",
        cause: "create",
      },
    ]);
  });

  test("scale only: the Deployment changes, no new ReplicaSet, no new revision", async () => {
    const gen = dep().metadata.generation;
    await rt.ensure({ ...v1, replicas: 5 }, ctx());
    await settled();
    assert.equal(dep().metadata.generation, gen + 1);
    assert.equal(api.apps.replicaSets("shop").length, 1);
    const s = await rt.rolloutStatus({ ...v1, replicas: 5 });
    assert.equal(s.revision, 1);
    assert.equal(s.phase, "Complete");
    assert.equal(s.available, 5);
    assert.equal((await rt.revisions(v1)).length, 1);
    await rt.ensure(v1, ctx());
    await settled();
  });

  test("rollout settings only (strategy, deadline, history limit): the Deployment changes, no new revision", async () => {
    const tuned: Deployment = {
      ...v1,
      strategy: { maxSurge: 2, maxUnavailable: 1 },
      progressDeadlineSeconds: 30,
      revisionHistoryLimit: 4,
    };
    await rt.ensure(tuned, ctx());
    await settled();
    assert.deepEqual(dep().spec.strategy.rollingUpdate, { maxSurge: 2, maxUnavailable: 1 });
    assert.equal(dep().spec.progressDeadlineSeconds, 30);
    assert.equal(dep().spec.revisionHistoryLimit, 4);
    assert.equal(api.apps.replicaSets("shop").length, 1);
    assert.equal((await rt.rolloutStatus(tuned)).revision, 1);
    await rt.ensure(v1, ctx());
    await settled();
    assert.equal(dep().spec.revisionHistoryLimit, 10, "the default again");
  });

  test("re-applying the same spec changes nothing (same generation, same resourceVersion)", async () => {
    const before = dep();
    await rt.ensure(v1, ctx());
    await settled();
    assert.equal(dep().metadata.generation, before.metadata.generation);
    assert.equal(dep().metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test("update: until the controller observes it the rollout is Progressing; then revision 2 completes", async () => {
    const v2 = withEnv(v1, { COLOR: "green" });
    api.apps.pauseController();
    await rt.ensure(v2, ctx({ cause: "update: env", by: "admin" }));
    const waiting = await rt.rolloutStatus(v2);
    assert.equal(waiting.phase, "Progressing");
    assert.match(waiting.reason ?? "", /controller to observe/);
    api.apps.resumeController();
    await settled();
    const s = await rt.rolloutStatus(v2);
    assert.equal(s.phase, "Complete", JSON.stringify(s));
    assert.equal(s.revision, 2);
    assert.equal(s.oldPods, 0);
    const sets = api.apps.replicaSets("shop");
    assert.deepEqual(
      sets.map((rs: Json) => [
        rs.metadata.annotations["deployment.kubernetes.io/revision"],
        rs.spec.replicas,
      ]),
      [
        ["1", 0],
        ["2", 3],
      ],
    );
    for (const rs of sets) {
      assert.equal(rs.metadata.ownerReferences[0].uid, dep().metadata.uid);
      assert.equal(rs.metadata.labels["pod-template-hash"], rs.metadata.name.slice("web-".length));
    }
    const history = await rt.revisions(v2);
    assert.deepEqual(
      history.map((r) => [r.revision, r.spec.env.COLOR, r.cause]),
      [
        [1, "blue", "create"],
        [2, "green", "update: env"],
      ],
    );
  });

  test("a revision whose pods never become Ready: Progressing with the old pods serving, then Failed with the controller's reason", async () => {
    api.apps.podsNeverReady((t) =>
      (t.spec.containers[0].env ?? []).some(
        (e: Json) => e.name === "COLOR" && e.value === "broken",
      ),
    );
    const v3 = withEnv(v1, { COLOR: "broken" });
    await rt.ensure(v3, ctx({ cause: "update: env" }));
    await settled();
    const stuck = await rt.rolloutStatus(v3);
    assert.deepEqual(
      [stuck.phase, stuck.revision, stuck.updated, stuck.ready, stuck.available, stuck.oldPods],
      ["Progressing", 3, 1, 0, 3, 3],
    );
    assert.match(stuck.reason ?? "", /1 out of 3 new replicas have been updated/);
    // the kubelet's view of the surge pod: crash-looping (not Pod objects the FAKE controller makes)
    const rs3 = api.apps
      .replicaSets("shop")
      .find((rs: Json) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "3")!;
    const hash = rs3.metadata.labels["pod-template-hash"];
    api.upsertPod(crashingPod(`web-${hash}-x2k9p`, hash));
    api.upsertPod({ ...crashingPod("web-other-pod", "another-hash") });
    assert.equal(api.apps.exceedProgressDeadline("shop", "web"), true);
    await settled();
    const failed = await rt.rolloutStatus(v3);
    assert.equal(failed.phase, "Failed");
    assert.equal(
      failed.reason,
      `ReplicaSet "${rs3.metadata.name}" has timed out progressing.; pod web-${hash}-x2k9p: CrashLoopBackOff (exit code 3, 4 restarts): back-off 40s restarting failed container`,
    );
    // surge 1, unavailable 0: the three pods of revision 2 still serve
    assert.equal(failed.available, 3);
    assert.equal(failed.oldPods, 3);
  });

  test("rollback to revision 2: its ReplicaSet is adopted as revision 4, the failed one goes to 0", async () => {
    const history = await rt.revisions(v1);
    const two = history.find((r) => r.revision === 2)!;
    const rs2 = api.apps
      .replicaSets("shop")
      .find((rs: Json) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "2")!;
    await rt.ensure({ ...two.spec, replicas: v1.replicas }, ctx({ cause: "rollback to 2" }));
    await settled();
    const s = await rt.rolloutStatus(v1);
    assert.equal(s.phase, "Complete", JSON.stringify(s));
    assert.equal(s.revision, 4);
    const adopted = api.apps
      .replicaSets("shop")
      .find((rs: Json) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "4")!;
    assert.equal(
      adopted.metadata.name,
      rs2.metadata.name,
      "the revision-2 ReplicaSet, not a new one",
    );
    assert.equal(adopted.metadata.annotations["deployment.kubernetes.io/revision-history"], "2");
    assert.equal(adopted.spec.replicas, 3);
    const after = await rt.revisions(v1);
    assert.deepEqual(
      after.map((r) => [r.revision, r.spec.env.COLOR, r.cause]),
      [
        [1, "blue", "create"],
        [3, "broken", "update: env"],
        [4, "green", "rollback to 2"],
      ],
    );
    const broken = api.apps
      .replicaSets("shop")
      .find((rs: Json) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "3")!;
    assert.equal(broken.spec.replicas, 0);
  });

  test("the deadline passes by itself: back to the failed template with progressDeadlineSeconds 1, Progressing afresh, then Failed", async () => {
    const again: Deployment = { ...withEnv(v1, { COLOR: "broken" }), progressDeadlineSeconds: 1 };
    await rt.ensure(again, ctx({ cause: "update: env" }));
    await settled();
    // read at once (no request in between: the 1 s deadline cannot have passed yet)
    const fresh = dep();
    assert.equal(fresh.spec.progressDeadlineSeconds, 1);
    assert.equal(fresh.metadata.annotations["deployment.kubernetes.io/revision"], "5");
    assert.equal(
      fresh.status.conditions.find((c: Json) => c.type === "Progressing").reason,
      "ReplicaSetUpdated",
      "a new rollout, not the old failure",
    );
    // the FAKE controller acts on its own timers
    const failed = await until(
      "the rollout to fail by its deadline",
      async () => {
        const s = await rt.rolloutStatus(again);
        return s.phase === "Failed" ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    assert.match(failed.reason ?? "", /has timed out progressing/);
    assert.equal(failed.available, 3, "the old pods still serve");
  });

  test("the Deployment deleted outside domeos: status and history say so", async () => {
    await rt.remove("shop", "web");
    assert.equal(api.apps.replicaSets("shop").length, 0, "its ReplicaSets went with it");
    await assert.rejects(rt.rolloutStatus(v1), /Deployment shop\/web is not in the cluster/);
    await assert.rejects(rt.revisions(v1), /Deployment shop\/web is not in the cluster/);
  });
});

describe("reading rollouts from Deployment and ReplicaSet objects", () => {
  const dep = (status: Json, generation = 2): Json => ({
    metadata: { uid: "u1", generation, annotations: { "deployment.kubernetes.io/revision": "2" } },
    spec: { replicas: 3 },
    status,
  });

  test("kubectl's reading: observed generation, then deadline, updated, old, available", () => {
    const base = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    assert.equal(
      statusFrom(dep({ ...base, observedGeneration: 1 }), undefined).phase,
      "Progressing",
    );
    assert.equal(statusFrom(dep(base), undefined).phase, "Complete");
    const old = statusFrom(dep({ ...base, replicas: 4 }), undefined);
    assert.deepEqual(
      [old.phase, old.oldPods, old.reason],
      ["Progressing", 1, "1 old replicas are pending termination"],
    );
    const unavailable = statusFrom(dep({ ...base, availableReplicas: 2 }), undefined);
    assert.equal(unavailable.reason, "2 of 3 updated replicas are available");
    const timedOut = statusFrom(
      dep({
        ...base,
        updatedReplicas: 1,
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "web-x" has timed out progressing.',
          },
        ],
      }),
      undefined,
    );
    assert.deepEqual(
      [timedOut.phase, timedOut.reason],
      ["Failed", 'ReplicaSet "web-x" has timed out progressing.'],
    );
  });

  test("pod problems: waiting reason, exit code or signal, restarts; Ready and terminating pods have none", () => {
    const pod = (status: Json, meta: Json = {}): Json => ({
      metadata: { name: "web-a-1", ...meta },
      status,
    });
    assert.equal(
      podProblem(
        pod({
          conditions: [{ type: "Ready", status: "False" }],
          containerStatuses: [{ state: { waiting: { reason: "ImagePullBackOff" } } }],
        }),
      ),
      "pod web-a-1: ImagePullBackOff",
    );
    assert.equal(
      podProblem(
        pod({
          conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
          containerStatuses: [
            {
              restartCount: 1,
              state: { running: {} },
              lastState: { terminated: { exitCode: 137, signal: 9 } },
            },
          ],
        }),
      ),
      "pod web-a-1: not Ready (ContainersNotReady) (killed by signal 9, 1 restart)",
    );
    assert.equal(podProblem(pod({ conditions: [{ type: "Ready", status: "True" }] })), undefined);
    assert.equal(podProblem(pod({}, { deletionTimestamp: "2026-12-07T04:00:00Z" })), undefined);
  });

  test("history: only ReplicaSets the Deployment controls, with a valid domeos spec, by revision", () => {
    const spec = JSON.stringify(specOf(v1));
    const rs = (
      name: string,
      rev: string,
      uid: string,
      annotations: Record<string, string> = { [SPEC_ANNOTATION]: spec },
    ): Json => ({
      metadata: {
        name,
        creationTimestamp: "2026-12-07T01:00:00Z",
        annotations: { "deployment.kubernetes.io/revision": rev },
        ownerReferences: [{ controller: true, uid }],
      },
      spec: { template: { metadata: { annotations } } },
    });
    const out = revisionsFrom(dep({}), [
      rs("web-c", "7", "u1"),
      rs("web-a", "5", "u1"),
      rs("other", "6", "someone-else"),
      rs("web-edited", "8", "u1", {}),
      rs("web-bad", "9", "u1", { [SPEC_ANNOTATION]: '{"name":"Not A Label"}' }),
    ]);
    assert.deepEqual(
      out.map((r) => [r.revision, r.createdAt]),
      [
        [5, "2026-12-07T01:00:00Z"],
        [7, "2026-12-07T01:00:00Z"],
      ],
    );
  });
});

describe("the server on --runtime kubernetes (FAKE apiserver)", () => {
  const api = new FakeApiServer();
  let fx: StoreFixture;
  let srv: RunningServer;
  before(async () => {
    await api.start();
    fx = await makeStore("embedded");
    srv = await startTestServer(fx.store, {
      runtime: new KubernetesRuntime(api.kubeConfig()),
      publicUrl: "http://domeos:8080",
    });
  });
  after(async () => {
    await srv.close();
    await fx.destroy();
    await api.stop();
  });
  const admin = (method: string, path: string, body?: unknown) =>
    request(method, `${srv.url}${path}`, body, bearer(ADMIN));

  test("create, then PATCH replicas: the Deployment object changes and the controller scales the same ReplicaSet", async () => {
    const r = await admin("POST", "/api/deployments", {
      name: "api",
      namespace: "shop",
      image: "reg/api:1",
      ports: 1,
      replicas: 2,
    });
    assert.equal(r.status, 201, r.text);
    await api.apps.controllerIdle();
    const p = await admin("PATCH", "/api/deployments/shop/api", { replicas: 4 });
    assert.equal(p.status, 200, p.text);
    await api.apps.controllerIdle();
    const d = api.apps.get("Deployment", "shop", "api")!;
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.status.availableReplicas, 4);
    const sets = api.apps.replicaSets("shop");
    assert.equal(sets.length, 1);
    assert.equal(sets[0]!.spec.replicas, 4);
    assert.equal(api.apps.get("Secret", "shop", "api-domeos-agent")?.type, "Opaque");
  });

  test("no image: create and PATCH answer 400 naming it, nothing stored or applied", async () => {
    const c = await admin("POST", "/api/deployments", {
      name: "cmd-only",
      namespace: "shop",
      command: ["sleep", "600"],
    });
    assert.equal(c.status, 400, c.text);
    assert.match(String(c.body.resultMsg), /image is required with --runtime kubernetes/);
    assert.equal((await admin("GET", "/api/deployments/shop/cmd-only")).status, 404);
    assert.equal(api.apps.get("Deployment", "shop", "cmd-only"), undefined);
    const before = api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion;
    const p = await admin("PATCH", "/api/deployments/shop/api", {
      image: null,
      command: ["sleep", "600"],
    });
    assert.equal(p.status, 400, p.text);
    assert.match(String(p.body.resultMsg), /image is required/);
    const stored = (await admin("GET", "/api/deployments/shop/api")).body.result as Json;
    assert.equal(stored.image, "reg/api:1");
    assert.equal(api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion, before);
  });

  test("PATCH env rolls revision 2; GET rollout and history read the Deployment and its ReplicaSets", async () => {
    const p = await request(
      "PATCH",
      `${srv.url}/api/deployments/shop/api`,
      { env: { COLOR: "green" } },
      { ...bearer(ADMIN), "x-domeos-user": "alice" },
    );
    assert.equal(p.status, 200, p.text);
    await api.apps.controllerIdle();
    const d = api.apps.get("Deployment", "shop", "api")!;
    assert.deepEqual(colorEnvOf(d.spec.template), { COLOR: "green" });
    const st = await admin("GET", "/api/deployments/shop/api/rollout");
    assert.equal(st.status, 200, st.text);
    assert.deepEqual(
      pick(st.body.result, [
        "revision",
        "phase",
        "desired",
        "updated",
        "ready",
        "available",
        "oldPods",
      ]),
      {
        revision: 2,
        phase: "Complete",
        desired: 4,
        updated: 4,
        ready: 4,
        available: 4,
        oldPods: 0,
      },
    );
    const h = await admin("GET", "/api/deployments/shop/api/history");
    assert.deepEqual(
      (h.body.result as Json[]).map((r) => [r.revision, r.cause, r.by, r.spec.env.COLOR]),
      [
        [1, "create", undefined, undefined],
        [2, "update: env", "alice", "green"],
      ],
    );
  });

  test("a failing revision is Failed with the reason over the API; rollback to 2 restores it; bad rollbacks change nothing", async () => {
    api.apps.podsNeverReady((t) => colorEnvOf(t).COLOR === "broken");
    const p = await admin("PATCH", "/api/deployments/shop/api", { env: { COLOR: "broken" } });
    assert.equal(p.status, 200, p.text);
    await api.apps.controllerIdle();
    assert.equal(api.apps.exceedProgressDeadline("shop", "api"), true);
    await api.apps.controllerIdle();
    const failed = (await admin("GET", "/api/deployments/shop/api/rollout")).body.result as Json;
    assert.deepEqual(
      [failed.phase, failed.revision, failed.available, failed.oldPods],
      ["Failed", 3, 4, 4],
    );
    assert.match(failed.reason, /^ReplicaSet "api-\w+" has timed out progressing\.$/);

    const before = api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion;
    const missing = await admin("POST", "/api/deployments/shop/api/rollback", { toRevision: 9 });
    assert.equal(missing.status, 404, missing.text);
    assert.match(String(missing.body.resultMsg), /no revision 9 \(kept: 1, 2, 3\)/);
    const bad = await admin("POST", "/api/deployments/shop/api/rollback", { toRevision: "two" });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion, before);

    const r = await admin("POST", "/api/deployments/shop/api/rollback", { toRevision: 2 });
    assert.equal(r.status, 200, r.text);
    await api.apps.controllerIdle();
    const done = (await admin("GET", "/api/deployments/shop/api/rollout")).body.result as Json;
    assert.deepEqual([done.phase, done.revision, done.oldPods], ["Complete", 4, 0]);
    assert.deepEqual(colorEnvOf(api.apps.get("Deployment", "shop", "api")!.spec.template), {
      COLOR: "green",
    });
    const h = (await admin("GET", "/api/deployments/shop/api/history")).body.result as Json[];
    assert.deepEqual(
      h.map((x) => [x.revision, x.cause]),
      [
        [1, "create"],
        [3, "update: env"],
        [4, "rollback to 2"],
      ],
    );
    // the stored deployment runs what Kubernetes runs
    const stored = (await admin("GET", "/api/deployments/shop/api")).body.result as Json;
    assert.deepEqual([stored.revision, stored.env], [4, { COLOR: "green" }]);
  });

  test("a change or rollback the apiserver denies (admission webhook): the error is the answer, nothing changes here or there", async () => {
    const stored = async () => (await admin("GET", "/api/deployments/shop/api")).body.result;
    const history = async () => (await admin("GET", "/api/deployments/shop/api/history")).body;
    const [before, beforeHistory] = [await stored(), await history()];
    const rv = api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion;
    api.apps.admit((o) => (o.kind === "Deployment" ? "changes are frozen" : undefined));
    try {
      const p = await admin("PATCH", "/api/deployments/shop/api", { image: "reg/api:2" });
      assert.equal(p.status, 502, p.text);
      assert.match(
        String(p.body.resultMsg),
        /deployments\/api: HTTP 403: admission webhook "fake\.domeos\.test" denied the request: changes are frozen/,
      );
      const scale = await admin("PATCH", "/api/deployments/shop/api", { replicas: 9 });
      assert.equal(scale.status, 502, scale.text);
      const rb = await admin("POST", "/api/deployments/shop/api/rollback", { toRevision: 3 });
      assert.equal(rb.status, 502, rb.text);
    } finally {
      api.apps.admit(null);
    }
    assert.deepEqual(await stored(), before, "the store is not ahead of the cluster");
    assert.deepEqual(await history(), beforeHistory);
    assert.equal(api.apps.get("Deployment", "shop", "api")!.metadata.resourceVersion, rv);
  });

  test("every object the runtime sent validates against the Kubernetes schema (the FAKE refuses what does not: 422)", () => {
    const applies = api.requests.filter((r) => r.contentType === "application/apply-patch+yaml");
    assert.ok(applies.length >= 10, `applies seen: ${applies.length}`);
    const kinds = new Set<string>();
    for (const r of applies) {
      const o = JSON.parse(r.body);
      kinds.add(o.kind);
      validateK8sObject(o);
    }
    assert.deepEqual([...kinds].sort(), ["Deployment", "Secret"]);
  });

  test("the CLI on Kubernetes: update --wait, status, history, rollback --to-revision", async () => {
    const cli = (...args: string[]) => runDeployCli([...args, "-n", "shop"], srv.url, ADMIN);
    const up = await cli("update", "api", "--env", "COLOR=yellow", "--wait");
    assert.equal(up.code, 0, up.err);
    assert.match(up.out, /deployment shop\/api updated: revision 5 rolling out/);
    assert.match(up.out, /Complete/);
    const st = await cli("status", "api");
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, /revision 5/);
    const hist = await cli("history", "api");
    assert.equal(hist.code, 0, hist.err);
    assert.match(hist.out, /^REVISION\s+AGE\s+BY\s+CAUSE\s+WHAT RAN/m);
    for (const rev of ["1", "3", "4", "5"])
      assert.match(hist.out, new RegExp(`^\\*?\\s*${rev}\\s`, "m"));
    const back = await cli("rollback", "api", "--to-revision", "4", "--wait");
    assert.equal(back.code, 0, back.err);
    assert.match(back.out, /rolled back to revision 4: revision 6 rolling out/);
    await api.apps.controllerIdle();
    assert.deepEqual(colorEnvOf(api.apps.get("Deployment", "shop", "api")!.spec.template), {
      COLOR: "green",
    });
  });
});
