// Readiness and liveness with real processes: the Ready condition follows
// an HTTP readiness check through 503s, a hang (SIGSTOP), a resume and a
// crash (SIGKILL); a failing liveness check restarts the pod; a deleted pod
// leaves routing (Ready False + deletionTimestamp) while its process still
// runs, and gets SIGTERM only once the load balancer confirmed it.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { waitUnrouted } from "../../src/runtime/drain.js";
import { isRoutable, type PodObject } from "../../src/runtime/pod-object.js";
import { updatePod } from "../../src/runtime/pod-writer.js";
import { PROBE_DEFAULTS } from "../../src/server/deploy/probe-spec.js";
import type { WatchEvent } from "../../src/store/store.js";
import { freePort } from "../support/ports.js";
import { alive, deployment, harness, waitFor } from "./helpers.js";

const h = harness();
after(() => h.cleanup());

// answers /healthz with 503 while ./unready exists in its working dir, 200 otherwise
const APP = join(h.dir, "app.cjs");
writeFileSync(
  APP,
  `const fs = require("node:fs");
require("node:http").createServer((q, s) => {
  s.statusCode = q.url === "/healthz" && fs.existsSync("unready") ? 503 : 200;
  s.end(String(process.pid));
}).listen(+process.env.PORT, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`,
);

const fast = { ...PROBE_DEFAULTS, periodSeconds: 0.2, timeoutSeconds: 0.3, failureThreshold: 2 };

function ready(pod: PodObject | undefined) {
  return pod?.status.conditions?.find((c) => c.type === "Ready");
}

/** Start a 1-replica deployment of the app, publish its port, wait until it is Ready. */
async function startApp(name: string, extra: Record<string, unknown>) {
  const port = await freePort();
  await h.runtime.ensure(
    deployment({ name, ports: 1, env: { PORT: String(port) }, command: ["node", APP], ...extra }),
  );
  const [pod] = await waitFor("running pod", async () => {
    const ps = await h.pods(name);
    return ps.length === 1 && ps[0].status.phase === "Running" && ps;
  });
  assert.equal(ready(pod)?.status, "False", "not Ready before its port answers");
  await updatePod(h.store, "default", pod.metadata.name, (p) => {
    p.metadata.annotations.AUTO_PORT0 = String(port); // what the agent API does
  });
  const podName = pod.metadata.name;
  const get = async () => (await h.pods(name)).find((p) => p.metadata.name === podName);
  await waitFor("Ready", async () => isRoutable((await get())!));
  const workDir = h.runtime.paths("default", podName).workDir;
  return { podName, get, workDir, pid: () => h.runtime.replica("default", podName)?.pid };
}

test("readiness: Ready follows 2xx/503, a hang (SIGSTOP), a resume and a crash", async () => {
  const app = await startApp("rd", {
    readinessProbe: { ...fast, httpGet: { path: "/healthz", port: 0 } },
  });
  let pod = await app.get();
  assert.equal(pod?.status.podIP, "127.0.0.1");
  assert.equal(pod?.status.containerStatuses[0].ready, true);

  writeFileSync(join(app.workDir, "unready"), "");
  pod = await waitFor("Ready False on 503", async () => {
    const p = await app.get();
    return ready(p)?.status === "False" && p;
  });
  assert.equal(ready(pod)?.reason, "ReadinessProbeFailed");
  assert.match(String(ready(pod)?.message), /GET http:\/\/127\.0\.0\.1:\d+\/healthz: 503/);
  assert.equal(pod.status.podIP, undefined, "the seed template drops it too");
  rmSync(join(app.workDir, "unready"));
  await waitFor("Ready again", async () => isRoutable((await app.get())!));

  const pid = app.pid()!;
  process.kill(pid, "SIGSTOP");
  try {
    pod = await waitFor("Ready False while hung", async () => {
      const p = await app.get();
      return ready(p)?.status === "False" && p;
    });
    assert.match(String(ready(pod)?.message), /no answer within 300 ms/);
    assert.ok(alive(pid), "readiness alone does not restart a hung pod");
  } finally {
    process.kill(pid, "SIGCONT");
  }
  pod = await waitFor("Ready after resume", async () => {
    const p = await app.get();
    return isRoutable(p!) && p;
  });
  assert.equal(pod.status.containerStatuses[0].restartCount, 0);

  process.kill(pid, "SIGKILL");
  pod = await waitFor("Ready False on exit", async () => {
    const p = await app.get();
    return ready(p)?.reason === "ContainerExited" && p;
  });
  assert.equal(ready(pod)?.status, "False");
  pod = await waitFor("Ready after the restart", async () => {
    const p = await app.get();
    return isRoutable(p!) && p!.status.containerStatuses[0].restartCount === 1 && p;
  });
  assert.notEqual(app.pid(), pid);
  await h.runtime.remove("default", "rd");
});

test("liveness: a hung process (SIGSTOP) leaves routing, is killed and restarted", async () => {
  const app = await startApp("lv", {
    readinessProbe: { ...PROBE_DEFAULTS, tcpSocket: { port: 0 } }, // a hung app still accepts TCP
    livenessProbe: { ...fast, httpGet: { path: "/healthz", port: "AUTO_PORT0" } },
  });
  const history: PodObject[] = [];
  const w = await h.store.watch(`/registry/pods/default/${app.podName}`, 0, {
    onEvents: (evs: WatchEvent[]) => {
      for (const e of evs) if (e.type === "put") history.push(JSON.parse(e.kv.value));
    },
    onError: () => {},
  });
  const pid = app.pid()!;
  process.kill(pid, "SIGSTOP");
  const pod = await waitFor("restarted and Ready", async () => {
    const p = await app.get();
    return isRoutable(p!) && p!.status.containerStatuses[0].restartCount === 1 && p;
  });
  await w.close();
  assert.ok(!alive(pid), "the hung process was killed");
  assert.notEqual(app.pid(), pid);
  assert.equal(pod.status.containerStatuses[0].lastState?.terminated?.signal, 9);
  const firstUnready = history.findIndex((p) => ready(p)?.status === "False");
  const firstRestart = history.findIndex((p) => p.status.containerStatuses[0].restartCount === 1);
  assert.ok(firstUnready >= 0 && firstUnready < firstRestart, "out of routing before the restart");
  assert.equal(ready(history[firstUnready])?.reason, "LivenessProbeFailed");
  await h.runtime.remove("default", "lv");
});

test("delete: Ready False + deletionTimestamp while the process runs; SIGTERM only once confirmed", async () => {
  // stands in for domeos-confd's /healthz (docs/standalone.md, "Drain"): the applied revision is ours to move
  let appliedRevision = 0;
  const confd = createServer((_q, s) => {
    s.setHeader("content-type", "application/json");
    s.end(JSON.stringify({ healthy: true, resources: [{ dest: "x", appliedRevision }] }));
  });
  await new Promise<void>((r) => confd.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(confd.address() as AddressInfo).port}/healthz`;
  const r = h.newRuntime({ drain: { confirmUrls: [url], settleMs: 0, timeoutMs: 60_000 } });
  try {
    await r.ensure(deployment({ name: "dl" }));
    const [pod] = await waitFor("ready pod", async () => {
      const ps = await h.pods("dl");
      return ps.length === 1 && isRoutable(ps[0]) && ps;
    });
    const pid = r.replica("default", pod.metadata.name)?.pid;
    const removing = r.remove("default", "dl");
    const kv = await waitFor("deletion marked", async () => {
      const got = await h.store.get(`/registry/pods/default/${pod.metadata.name}`);
      return got && (JSON.parse(got.value) as PodObject).metadata.deletionTimestamp ? got : null;
    });
    const marked = JSON.parse(kv.value) as PodObject;
    assert.equal(ready(marked)?.status, "False");
    assert.equal(ready(marked)?.reason, "Terminating");
    assert.ok(!isRoutable(marked));
    // confd has not applied it yet: the process keeps serving
    appliedRevision = kv.modRevision - 1;
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(alive(pid), "no SIGTERM before the load balancer confirmed");
    appliedRevision = kv.modRevision;
    await removing;
    assert.ok(!alive(pid));
    assert.equal(await h.store.get(`/registry/pods/default/${pod.metadata.name}`), null);
  } finally {
    confd.close();
  }
});

test("drain wait: confirmed, fixed delay without a confirming confd, bounded by the timeout", async () => {
  let body: unknown = { resources: [{ appliedRevision: 5 }, { appliedRevision: 7 }] };
  const srv = createServer((_q, s) => s.end(JSON.stringify(body)));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/healthz`;
  try {
    assert.equal(await waitUnrouted(5, { confirmUrls: [url], settleMs: 0 }), "confirmed");
    assert.equal(await waitUnrouted(6, { confirmUrls: [url], timeoutMs: 200 }), "timeout");
    body = { resources: [{ dest: "old confd without the field" }] };
    let t0 = Date.now();
    assert.equal(await waitUnrouted(6, { confirmUrls: [url], delayMs: 150 }), "delay");
    assert.ok(Date.now() - t0 >= 140);
    t0 = Date.now();
    assert.equal(await waitUnrouted(6, { delayMs: 100 }), "delay");
    assert.ok(Date.now() - t0 >= 90);
    assert.equal(
      await waitUnrouted(6, { confirmUrls: ["http://127.0.0.1:9/healthz"], delayMs: 0 }),
      "delay",
      "an unreachable confd cannot confirm",
    );
  } finally {
    srv.close();
  }
});
