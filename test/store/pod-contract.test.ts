// The pod store contract (test/store/contract.ts) on every backend: the
// embedded SQLite store, a real etcd, and the Kubernetes API adapter on the
// FAKE apiserver (test/store/fake-apiserver.ts: no real apiserver can run
// here), where pods are created by "the kubelet" and resourceVersions are
// opaque strings.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { KubernetesStore } from "../../src/store/kubernetes.js";
import { podKey, type Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { podStoreContract } from "./contract.js";
import { FakeApiServer } from "./fake-apiserver.js";

const podJson = (ns: string, name: string, annotations: Record<string, string>) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, annotations },
    status: { podIP: "10.0.0.1" },
  });

/** Backends that store whatever is put: the pod is created through the store. */
function throughStore(store: Store & { compact(revision: number): Promise<void> }) {
  return {
    store,
    createPod: async (ns: string, name: string, annotations: Record<string, string>) => {
      await store.put(podKey(ns, name), podJson(ns, name, annotations));
    },
    compactAll: async () => store.compact(await store.revision()),
  };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

podStoreContract("embedded (SQLite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pod-contract-"));
  dirs.push(dir);
  return throughStore(new EmbeddedStore(dir));
});

const etcd = new EtcdServer();
after(async () => {
  await etcd.destroy();
});
podStoreContract("etcd v3", async () => {
  await etcd.start();
  return throughStore(new EtcdStore({ endpoints: [etcd.endpoint] }));
});

const api = new FakeApiServer();
after(async () => {
  await api.stop();
});
podStoreContract("kubernetes API adapter (FAKE apiserver)", async () => {
  await api.start();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: api.url, skipTLSVerify: true }],
    users: [{ name: "u", token: api.token }],
    contexts: [{ name: "c", cluster: "fake", user: "u" }],
    currentContext: "c",
  });
  return {
    store: new KubernetesStore(kc, { pageSize: 2 }),
    createPod: async (ns, name, annotations) => {
      api.upsertPod({
        metadata: { name, namespace: ns, annotations },
        spec: { containers: [{ name: "app", image: "app" }] },
        status: { podIP: "10.0.0.1" },
      });
    },
    compactAll: async () => api.compact(api.currentRv()),
  };
});
