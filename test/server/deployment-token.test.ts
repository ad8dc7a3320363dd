// Kubernetes deployment tokens bound to the pod (issue 15): pods of a
// Kubernetes Deployment share one deployment token (their names and UIDs are
// known only once created); it writes nothing itself and is exchanged for the
// pod's own UID-bound token by a pod that names its UID (MY_POD_UID), checked
// against the pod store. Pods in the Kubernetes API (FAKE apiserver,
// test/store/fake-apiserver.ts: no real apiserver can run here), the ledger
// in the embedded store, as `--cluster default=kubernetes:?...&others=...`.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { mintDeploymentToken } from "../../src/server/auth/pod-token.js";
import type { RunningServer } from "../../src/server/server.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/store.js";
import { baseEnv, runDomeize } from "../domeize/helpers.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { kubernetesStoreUrl, writeKubeconfig } from "../store/fake-cluster.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  podObject,
  request,
  SECRET,
  startTestServer,
} from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "deployment-token-"));
const api = new FakeApiServer();
let store: Store;
let srv: RunningServer;
const web = bearer(mintDeploymentToken(SECRET, "default", "shop", "web"));

before(async () => {
  await api.start();
  store = await openStore(
    kubernetesStoreUrl(
      writeKubeconfig(api, join(tmp, "kubeconfig")),
      `embedded:${join(tmp, "ledger")}`,
    ),
  );
  srv = await startTestServer(store, { sweepIntervalMs: 3_600_000 });
});

after(async () => {
  await srv?.close();
  await store?.close();
  await api.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const exchange = (pod: string, body: unknown, auth = web) =>
  request("POST", `${srv.url}/api/agent/pod/default/shop/${pod}/token`, body, auth);
const report = (pod: string, auth: Record<string, string>, port: string) =>
  request("PUT", agentUrl(srv.url, "shop", pod, "annotation"), { AUTO_PORT0: port }, auth);
const ports = (pod: string, auth: Record<string, string>) =>
  request("POST", agentUrl(srv.url, "shop", pod, "ports"), { count: 1 }, auth);

function pod(name: string, uid: string, deployName: string) {
  api.upsertPod(podObject("shop", name, { uid, deployName, hostIP: "10.40.0.1", needPorts: 1 }));
}

/** The pod as the server reads it through the Kubernetes store (the fake's watch is asynchronous). */
async function seen(name: string, uid: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const kv = await store.get(`/registry/pods/shop/${name}`);
    if (kv && (JSON.parse(kv.value) as { metadata: { uid: string } }).metadata.uid === uid) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pod shop/${name} uid ${uid} never visible`);
}

test("the deployment token alone writes nothing (403 naming the exchange)", async () => {
  pod("web-1", "uid-web-1", "web");
  await seen("web-1", "uid-web-1");
  const r = await report("web-1", web, "20001");
  assert.equal(r.status, 403, r.text);
  assert.match(String(r.body.resultMsg), /exchange it for the pod's own token/);
  const p = await ports("web-1", web);
  assert.equal(p.status, 403, p.text);
  assert.equal((await annotationsOf(store, "shop", "web-1")).AUTO_PORT0, undefined);
});

test("exchanged with the pod's own uid: a token that writes this pod", async () => {
  const ex = await exchange("web-1", { uid: "uid-web-1" });
  assert.equal(ex.status, 200, ex.text);
  const own = bearer((ex.body.result as { token: string }).token);
  const got = await ports("web-1", own);
  assert.equal(got.status, 200, got.text);
  const port = String((got.body.result as { ports: number[] }).ports[0]);
  assert.equal((await report("web-1", own, port)).status, 200);
  assert.equal((await annotationsOf(store, "shop", "web-1")).AUTO_PORT0, port);
});

test("refused: a wrong uid, another deployment's pod, a missing pod, a malformed body", async () => {
  pod("db-1", "uid-db-1", "db");
  await seen("db-1", "uid-db-1");
  const wrong = await exchange("web-1", { uid: "uid-web-0" });
  assert.equal(wrong.status, 403, wrong.text);
  assert.match(String(wrong.body.resultMsg), /uid uid-web-0 is not this pod's/);
  const other = await exchange("db-1", { uid: "uid-db-1" });
  assert.equal(other.status, 403, other.text);
  const missing = await exchange("web-9", { uid: "uid-web-9" });
  assert.ok(missing.status === 403 || missing.status === 404, missing.text);
  for (const body of [{}, { uid: "" }, { uid: "a b" }, { uid: "x", extra: 1 }]) {
    const r = await exchange("web-1", body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
  }
  // a pod token is not exchanged again
  const own = (await exchange("web-1", { uid: "uid-web-1" })).body.result as { token: string };
  assert.equal((await exchange("web-1", { uid: "uid-web-1" }, bearer(own.token))).status, 400);
});

test("a deleted and re-created pod of the same name refuses the old pod's token; its own exchange works", async () => {
  pod("web-2", "uid-web-2a", "web");
  await seen("web-2", "uid-web-2a");
  const old = bearer(
    ((await exchange("web-2", { uid: "uid-web-2a" })).body.result as { token: string }).token,
  );
  assert.equal((await ports("web-2", old)).status, 200);
  api.removePod("shop", "web-2");
  pod("web-2", "uid-web-2b", "web");
  await seen("web-2", "uid-web-2b");
  const r = await report("web-2", old, "20002");
  assert.equal(r.status, 403, r.text);
  assert.equal((await ports("web-2", old)).status, 403);
  assert.equal((await annotationsOf(store, "shop", "web-2")).AUTO_PORT0, undefined);
  // the old instance cannot get a token for the new one with its own uid
  assert.equal((await exchange("web-2", { uid: "uid-web-2a" })).status, 403);
  // the new instance, naming its uid, can
  const ex = await exchange("web-2", { uid: "uid-web-2b" });
  assert.equal(ex.status, 200, ex.text);
  assert.equal(
    (await ports("web-2", bearer((ex.body.result as { token: string }).token))).status,
    200,
  );
});

test("domeize with the deployment token and MY_POD_UID: exchanges it, gets its ports, reports", async () => {
  pod("web-3", "uid-web-3", "web");
  await seen("web-3", "uid-web-3");
  const state = mkdtempSync(join(tmp, "state-"));
  const env = (uid: string) =>
    baseEnv({
      NEED_PORTS: "1",
      DOMEOS_SERVER_ADDR: srv.url,
      CLUSTER_NAME: "default",
      MY_POD_NAMESPACE: "shop",
      MY_POD_NAME: "web-3",
      MY_POD_UID: uid,
      HOST_IP: "10.40.0.1",
      DOMEOS_AGENT_TOKEN: mintDeploymentToken(SECRET, "default", "shop", "web"),
      DOMEIZE_STATE_DIR: state,
      DOMEIZE_REPORT_DEADLINE: "5s",
    });
  const r = await runDomeize(["/bin/sh", "-c", "echo port=$AUTO_PORT0"], env("uid-web-3"));
  assert.equal(r.code, 0, r.stderr);
  const port = /port=(\d+)/.exec(r.stdout)?.[1];
  assert.ok(port, r.stdout);
  assert.equal((await annotationsOf(store, "shop", "web-3")).AUTO_PORT0, port);
  // another pod's uid (or a stale one): the exchange is refused, nothing reported
  const bad = await runDomeize(["/bin/sh", "-c", "echo started"], env("uid-web-1"));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /cannot exchange the deployment token/);
  assert.doesNotMatch(bad.stdout, /started/);
});
