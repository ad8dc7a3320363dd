// Two domeos-server replicas on one store (as the Kubernetes manifests run
// them behind a Service), one SIGKILLed under report load: every write a
// replica acknowledged is in the store, and the other replica keeps taking
// reports (agents fail over, as domeize does with several server URLs).
// On a real etcd, and with pods in the Kubernetes API (FAKE apiserver,
// test/store/fake-apiserver.ts) and the ledger in etcd, as on a cluster.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { EtcdStore } from "../../src/store/etcd.js";
import { FakeApiServer } from "../store/fake-apiserver.js";
import { kubernetesStoreUrl, writeKubeconfig } from "../store/fake-cluster.js";
import { EtcdServer } from "../support/etcd.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  podObject,
  podToken,
  putPod,
  type ServerProcess,
  spawnServer,
  until,
} from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "server-replicas-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

const tok = (pod: string) => bearer(podToken("default", pod));

/** One replica: bin/domeos-server as its own process, ended in after(). */
async function replica(storeUrl: string): Promise<ServerProcess> {
  const server = await spawnServer(storeUrl, tmp, ["--runtime=none"]);
  children.push(server.child);
  return server;
}

type Ack = [pod: string, key: string, value: string, replica: number];

/** Ports per pod (its NEED_PORTS): 8 pods of one host fit in the range. */
const PORTS = 40;

/**
 * Report load over both replicas (each request to the next replica, the
 * other one when it cannot be reached), SIGKILL of replica 0 once both have
 * acknowledged writes, more load on the survivor; then every acknowledged
 * write must be in the store.
 */
async function killOneUnderLoad(
  storeUrl: string,
  pods: string[],
  annotations: (pod: string) => Promise<Record<string, string>>,
): Promise<void> {
  const replicas = [await replica(storeUrl), await replica(storeUrl)];
  // reports are checked against the ledger: each pod reports the ports it holds
  const held = new Map<string, number[]>();
  for (const p of pods) {
    const res = await fetch(agentUrl(replicas[0]!.url, "default", p, "ports"), {
      method: "POST",
      headers: { "content-type": "application/json", ...tok(p) },
      body: JSON.stringify({ count: PORTS }),
    });
    const body = (await res.json()) as { result: { ports: number[] } };
    assert.equal(res.status, 200, JSON.stringify(body));
    held.set(p, body.result.ports);
  }
  const acked: Ack[] = [];
  let stop = false;
  let killedAt = -1;
  const send = async (r: number, pod: string, key: string, value: string) => {
    const res = await fetch(agentUrl(replicas[r]!.url, "default", pod, "annotation"), {
      method: "PUT",
      headers: { "content-type": "application/json", ...tok(pod) },
      body: JSON.stringify({ [key]: value }),
    });
    const body = (await res.json()) as { resultCode: number };
    return res.status === 200 && body.resultCode === 200;
  };
  const worker = async (pod: string, lane: number) => {
    for (let i = lane; !stop && i < 20_000; i += 3) {
      // each key always carries the same (held) port: the last acknowledged value is known
      const key = `AUTO_PORT${i % PORTS}`;
      const value = String(held.get(pod)![i % PORTS]);
      const first = i % 2;
      for (const r of [first, 1 - first]) {
        try {
          if (await send(r, pod, key, value)) acked.push([pod, key, value, r]);
          break;
        } catch {
          // that replica is gone: the agent tries the next URL
        }
      }
    }
  };
  const load = pods.flatMap((p) => [0, 1, 2].map((lane) => worker(p, lane)));
  await until(
    "both replicas acknowledging",
    async () =>
      acked.filter((a) => a[3] === 0).length >= 100 &&
      acked.filter((a) => a[3] === 1).length >= 100,
    60_000,
  );
  replicas[0]!.child.kill("SIGKILL");
  killedAt = acked.length;
  await until(
    "the survivor acknowledging after the kill",
    async () => acked.length >= killedAt + 200,
    60_000,
  );
  stop = true;
  await Promise.all(load);
  assert.ok(replicas[0]!.child.signalCode === "SIGKILL");
  let checked = 0;
  for (const p of pods) {
    const ann = await annotations(p);
    for (const [pod, key, value] of acked) {
      if (pod !== p) continue;
      assert.equal(ann[key], value, `${p} ${key}: acknowledged, must be stored`);
      checked++;
    }
  }
  assert.equal(checked, acked.length);
  replicas[1]!.child.kill("SIGTERM");
}

describe("two server replicas on one store, one SIGKILLed under report load", () => {
  test("on etcd: 0 acknowledged writes lost, the survivor keeps serving", async () => {
    const etcd = new EtcdServer();
    await etcd.start();
    const store = new EtcdStore({ endpoints: [etcd.endpoint] });
    try {
      const pods = Array.from({ length: 8 }, (_, i) => `rep-${i}`);
      for (const p of pods) await putPod(store, "default", p, { size: 4000, needPorts: PORTS });
      await killOneUnderLoad(etcd.endpoint.replace(/^http/, "etcd"), pods, (p) =>
        annotationsOf(store, "default", p),
      );
    } finally {
      await store.close();
      await etcd.destroy();
    }
  });

  test("pods in the Kubernetes API (FAKE apiserver), ledger in etcd: 0 acknowledged writes lost", async () => {
    const etcd = new EtcdServer();
    await etcd.start();
    const api = new FakeApiServer();
    await api.start();
    try {
      const pods = Array.from({ length: 8 }, (_, i) => `kube-${i}`);
      for (const p of pods)
        api.upsertPod(podObject("default", p, { size: 2000, needPorts: PORTS }));
      await killOneUnderLoad(
        kubernetesStoreUrl(
          writeKubeconfig(api, join(tmp, "kubeconfig")),
          etcd.endpoint.replace(/^http/, "etcd"),
        ),
        pods,
        async (p) =>
          (api.pod("default", p)!.metadata as { annotations?: Record<string, string> })
            .annotations ?? {},
      );
      // Every write was a JSON merge patch: atomic in the apiserver, nothing to retry.
      const patches = api.requests.filter((r) => r.method === "PATCH");
      assert.ok(patches.length > 0);
      assert.ok(patches.every((r) => r.contentType === "application/merge-patch+json"));
    } finally {
      await api.stop();
      await etcd.destroy();
    }
  });
});
