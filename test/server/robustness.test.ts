// Failure behaviour: the store going away (503, then recovery) and the
// server process being SIGKILLed under load (no acknowledged write lost).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { EmbeddedStore } from "../../src/store/embedded.js";
import { EtcdStore } from "../../src/store/etcd.js";
import type { Store } from "../../src/store/store.js";
import { EtcdServer } from "../support/etcd.js";
import {
  agentUrl,
  annotationsOf,
  bearer,
  podToken,
  putPod,
  request,
  spawnServer,
  startTestServer,
  until,
} from "./helpers.js";

const tok = (pod: string) => bearer(podToken("default", pod));

describe("etcd outage", () => {
  test("503 with a clear message while etcd is down, recovery when it returns", async () => {
    const etcd = new EtcdServer();
    await etcd.start();
    const store = new EtcdStore({
      endpoints: [etcd.endpoint],
      callTimeoutMs: 1000,
      dialTimeoutMs: 1000,
    });
    const srv = await startTestServer(store);
    try {
      await putPod(store, "default", "p1");
      const url = agentUrl(srv.url, "default", "p1", "annotation");
      assert.equal((await request("PUT", url, { AUTO_PORT0: "20001" }, tok("p1"))).status, 200);
      await etcd.stop();
      const down = await request("PUT", url, { AUTO_PORT0: "20002" }, tok("p1"));
      assert.equal(down.status, 503, down.text);
      assert.equal(down.body.resultCode, 503);
      assert.match(String(down.body.resultMsg), /pod store is unavailable.*retry later/);
      const ready = await request("GET", `${srv.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(ready.text, /not ready: cluster default/);
      const health = await request("GET", `${srv.url}/healthz`);
      assert.equal(health.status, 200, "liveness stays up: restarting the server would not help");
      await etcd.start();
      await until(
        "a successful PUT after etcd returned",
        async () => {
          const r = await request("PUT", url, { AUTO_PORT0: "20003" }, tok("p1"));
          return r.status === 200 ? r : undefined;
        },
        30_000,
      );
      assert.equal((await annotationsOf(store, "default", "p1")).AUTO_PORT0, "20003");
      assert.equal((await request("GET", `${srv.url}/readyz`)).status, 200);
    } finally {
      await srv.close();
      await store.close();
      await etcd.destroy();
    }
  });
});

async function killDuringLoad(storeUrl: string, store: Store): Promise<void> {
  const pods = Array.from({ length: 10 }, (_, i) => `crash-${i}`);
  const keys = 50;
  for (const p of pods) await putPod(store, "default", p, { size: 4000, needPorts: keys });
  const dir = mkdtempSync(join(tmpdir(), "server-child-"));
  const { child, url } = await spawnServer(storeUrl, dir);
  try {
    await reportUntilKilled(child, url, pods, keys, store);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reports from every pod until 200 were acknowledged, SIGKILL, then each acknowledged one in the store. */
async function reportUntilKilled(
  child: ChildProcess,
  url: string,
  pods: string[],
  keys: number,
  store: Store,
): Promise<void> {
  // reports are checked against the ledger: each pod reports the ports it holds
  const held = new Map<string, number[]>();
  for (const p of pods) {
    const r = await fetch(agentUrl(url, "default", p, "ports"), {
      method: "POST",
      headers: { "content-type": "application/json", ...tok(p) },
      body: JSON.stringify({ count: keys }),
    });
    held.set(p, ((await r.json()) as { result: { ports: number[] } }).result.ports);
  }
  const acked: [string, string, string][] = [];
  let stop = false;
  const worker = async (pod: string, lane: number) => {
    for (let i = lane; !stop && i < keys; i += 4) {
      const key = `AUTO_PORT${i}`;
      const value = String(held.get(pod)![i]);
      try {
        const r = await fetch(agentUrl(url, "default", pod, "annotation"), {
          method: "PUT",
          headers: { "content-type": "application/json", ...tok(pod) },
          body: JSON.stringify({ [key]: value }),
        });
        const body = (await r.json()) as { resultCode: number };
        if (r.status === 200 && body.resultCode === 200) acked.push([pod, key, value]);
      } catch {
        return; // the server is gone
      }
    }
  };
  const load = pods.flatMap((p) => [0, 1, 2, 3].map((lane) => worker(p, lane)));
  await until("some acknowledged writes", async () => acked.length >= 200, 30_000);
  child.kill("SIGKILL");
  stop = true;
  await Promise.all(load);
  assert.ok(acked.length >= 200, `load ran (${acked.length} acknowledged)`);
  for (const p of pods) {
    const ann = await annotationsOf(store, "default", p);
    for (const [pod, key, value] of acked)
      if (pod === p) assert.equal(ann[key], value, `${p} ${key}`);
  }
}

describe("server SIGKILLed during load", () => {
  test("on etcd: every acknowledged write is in the store", async () => {
    const etcd = new EtcdServer();
    await etcd.start();
    const store = new EtcdStore({ endpoints: [etcd.endpoint] });
    try {
      await killDuringLoad(etcd.endpoint, store);
    } finally {
      await store.close();
      await etcd.destroy();
    }
  });

  test("on the embedded store: every acknowledged write is in the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "server-crash-embedded-"));
    const store = new EmbeddedStore(dir);
    try {
      await killDuringLoad(`embedded:${dir}`, store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
