// A server whose runtime runs pods here brings stored deployments back when
// it starts, also when the store is down at that moment: it starts anyway
// and the pods come back once the store answers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listPods } from "../../src/runtime/pod-writer.js";
import { ProcessRuntime } from "../../src/runtime/server-adapter.js";
import { StandaloneRuntime } from "../../src/runtime/standalone-runtime.js";
import type { RunningServer } from "../../src/server/server.js";
import { EtcdStore } from "../../src/store/etcd.js";
import type { Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import { until } from "../support/poll.js";
import { ADMIN, startTestServer } from "./helpers.js";

/** The process runtime with /usr/bin/env standing in for domeize (it runs the command as is). */
function runtime(store: Store, dataDir: string): StandaloneRuntime {
  return new StandaloneRuntime({
    store,
    dataDir,
    clusterName: "default",
    domeizeBin: "/usr/bin/env",
    drain: { delayMs: 0 },
    graceMs: 1000,
  });
}

test("stored deployments come back when the server starts while the store is down", async () => {
  const etcd = new EtcdServer();
  await etcd.start();
  const dir = mkdtempSync(join(tmpdir(), "server-resume-"));
  const stores: Store[] = [];
  const servers: RunningServer[] = [];
  const open = () => {
    const s = new EtcdStore({ endpoints: [etcd.endpoint] });
    stores.push(s);
    return s;
  };
  try {
    const storeA = open();
    const a = await startTestServer(storeA, {
      runtime: new ProcessRuntime(runtime(storeA, dir)),
    });
    servers.push(a);
    const res = await fetch(`${a.url}/api/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ name: "sleeper", command: ["sleep", "60"], ports: 1 }),
    });
    assert.equal(res.status, 201, await res.text());
    const [pod] = await listPods(storeA, "default");
    assert.ok(pod, "a pod object is stored");
    await a.close(); // stops the process, keeps the pod

    await etcd.stop();
    const storeB = open();
    const rtB = runtime(storeB, dir);
    const b = await startTestServer(storeB, { runtime: new ProcessRuntime(rtB) });
    servers.push(b);
    assert.equal(
      rtB.replica("default", pod.metadata.name),
      undefined,
      "nothing runs without the store",
    );

    await etcd.start();
    await until(
      "the stored pod to run again",
      async () => {
        const [p] = await listPods(storeB, "default");
        return (
          rtB.replica("default", pod.metadata.name) !== undefined && p?.status?.phase === "Running"
        );
      },
      { timeoutMs: 30_000, intervalMs: 100, retryThrows: true },
    );
    assert.deepEqual(
      (await listPods(storeB, "default")).map((p) => p.metadata.name),
      [pod.metadata.name],
    );
  } finally {
    for (const s of servers) await s.close().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await etcd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
