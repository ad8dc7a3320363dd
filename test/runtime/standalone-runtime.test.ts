// The standalone runtime against a real embedded store and real processes.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { updatePod } from "../../src/runtime/pod-writer.js";
import { freePort } from "../support/ports.js";
import { alive, deployment, harness, waitFor } from "./helpers.js";

const h = harness();
after(() => h.cleanup());

test("replicas start as pods with a Kubernetes pod's environment, logs and status", async () => {
  const d = deployment({
    name: "envcheck",
    replicas: 2,
    ports: 2,
    templates: ["/t/a.tmpl:a.conf", "/t/b.tmpl:b.conf"],
    command: "env > env.txt; echo started; echo oops >&2; exec sleep 600",
    env: { EXTRA: "1" },
  });
  await h.runtime.ensure(d);
  const pods = await waitFor("2 running pods", async () => {
    const ps = await h.pods("envcheck");
    return ps.length === 2 && ps.every((p) => p.status.phase === "Running") && ps;
  });
  for (const pod of pods) {
    const name = pod.metadata.name;
    assert.match(name, /^envcheck-[a-z0-9]{5}$/);
    assert.deepEqual(pod.metadata.annotations, { deployName: "envcheck", accessType: "DIY" });
    assert.equal(pod.metadata.labels.deployName, "envcheck");
    assert.equal(pod.spec.hostNetwork, true);
    assert.equal(pod.status.hostIP, "127.0.0.1");
    assert.equal(pod.status.containerStatuses[0].restartCount, 0);
    const paths = h.runtime.paths("default", name);
    const envText = await waitFor("env.txt", () => {
      const f = join(paths.workDir, "env.txt");
      return (
        existsSync(f) && readFileSync(f, "utf8").includes("MY_POD_NAME") && readFileSync(f, "utf8")
      );
    });
    const env = Object.fromEntries(
      envText
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(env.NEED_PORTS, "2");
    assert.equal(env.NETWORK_MODE, "HOST");
    assert.equal(env.DOMEOS_SERVER_ADDR, "http://127.0.0.1:9");
    assert.equal(env.CLUSTER_NAME, "local");
    assert.equal(env.MY_POD_NAME, name);
    assert.equal(env.MY_POD_NAMESPACE, "default");
    assert.equal(env.DOMEIZE_TEMPLATES, "/t/a.tmpl:a.conf,/t/b.tmpl:b.conf");
    assert.equal(env.DOMEOS_AGENT_TOKEN, `token-local-default-${name}`);
    // the process has the token; the stored pod spec only a Secret reference (issue 15)
    const stored = (await h.pods("envcheck")).find((p) => p.metadata.name === name)!;
    assert.ok(!JSON.stringify(stored).includes(`token-local-default-${name}`));
    assert.deepEqual(
      stored.spec.containers[0]!.env.find((e) => e.name === "DOMEOS_AGENT_TOKEN"),
      {
        name: "DOMEOS_AGENT_TOKEN",
        valueFrom: { secretKeyRef: { name: "domeos-agent-token", key: name } },
      },
    );
    assert.equal(env.EXTRA, "1");
    await waitFor("stdout/stderr logs", () => {
      return (
        readFileSync(paths.stdout, "utf8").includes("started") &&
        readFileSync(paths.stderr, "utf8").includes("oops")
      );
    });
  }
  await h.runtime.remove("default", "envcheck");
});

test("readiness: podIP appears only once AUTO_PORT0 accepts connections", async () => {
  const port = await freePort();
  const d = deployment({
    name: "ready",
    ports: 1,
    env: { PORT: String(port) },
    command: [
      "node",
      "-e",
      "setTimeout(()=>require('http').createServer((q,s)=>s.end('ok')).listen(+process.env.PORT,'127.0.0.1'),300)",
    ],
  });
  await h.runtime.ensure(d);
  const [pod] = await waitFor("running pod", async () => {
    const ps = await h.pods("ready");
    return ps.length === 1 && ps[0].status.phase === "Running" && ps;
  });
  assert.equal(pod.status.podIP, undefined, "no podIP before the port is published");
  // what the server does when domeize reports
  await updatePod(h.store, "default", pod.metadata.name, (p) => {
    p.metadata.annotations.AUTO_PORT0 = String(port);
  });
  const ready = await waitFor("podIP", async () => {
    const [p] = await h.pods("ready");
    return p.status.podIP === "127.0.0.1" && p;
  });
  assert.equal(ready.status.containerStatuses[0].ready, true);
  assert.equal(ready.metadata.annotations.AUTO_PORT0, String(port), "annotation kept");
  await h.runtime.remove("default", "ready");
});

test("a crashing replica restarts with capped exponential backoff", async () => {
  const d = deployment({ name: "crash", command: "date +%s%3N >> runs.txt; exit 3" });
  await h.runtime.ensure(d);
  const pod = await waitFor("4 restarts", async () => {
    const [p] = await h.pods("crash");
    return p && p.status.containerStatuses[0].restartCount >= 4 && p;
  });
  const cs = pod.status.containerStatuses[0];
  assert.equal(cs.lastState?.terminated?.exitCode, 3);
  assert.equal(pod.status.phase, "Running", "restart policy Always keeps the pod Running");
  const runs = readFileSync(
    join(h.runtime.paths("default", pod.metadata.name).workDir, "runs.txt"),
    "utf8",
  )
    .trim()
    .split("\n")
    .map(Number);
  const gaps = runs.slice(1).map((t, i) => t - runs[i]);
  // 100, 200, 400, 400 ms (capped): each gap at least the backoff
  assert.ok(gaps[0] >= 90, `first gap ${gaps[0]}`);
  assert.ok(gaps[1] >= 190, `second gap ${gaps[1]}`);
  assert.ok(gaps[2] >= 390, `third gap ${gaps[2]}`);
  assert.ok(
    gaps.every((g) => g < 5000),
    `gaps capped: ${gaps}`,
  );
  await h.runtime.remove("default", "crash");
});

test("scale up and down: pods created and deleted, processes stopped", async () => {
  await h.runtime.ensure(deployment({ name: "scale", replicas: 3 }));
  const three = await waitFor("3 running", async () => {
    const ps = await h.pods("scale");
    return ps.length === 3 && ps.every((p) => p.status.phase === "Running") && ps;
  });
  const pids = three.map((p) => h.runtime.replica("default", p.metadata.name)?.pid);
  assert.ok(pids.every(alive));
  await h.runtime.ensure(deployment({ name: "scale", replicas: 1 }));
  const one = await h.pods("scale");
  assert.equal(one.length, 1);
  const survivor = three.findIndex((p) => p.metadata.name === one[0].metadata.name);
  assert.ok(survivor >= 0, "a surviving pod keeps its name");
  await waitFor("scaled-down processes gone", () =>
    pids.every((pid, i) => i === survivor || !alive(pid)),
  );
  for (const [i, p] of three.entries()) {
    if (i !== survivor)
      assert.equal(existsSync(h.runtime.paths("default", p.metadata.name).dir), false);
  }
  await h.runtime.ensure(deployment({ name: "scale", replicas: 2 }));
  assert.equal((await h.pods("scale")).length, 2);
  await h.runtime.remove("default", "scale");
  assert.equal((await h.pods("scale")).length, 0);
  assert.ok(!alive(pids[survivor]));
});

test("stop: SIGTERM, grace, SIGKILL; a new runtime adopts the same pods", async () => {
  const d = deployment({
    name: "stubborn",
    replicas: 2,
    // ignores SIGTERM: only SIGKILL after the grace period ends it
    command: "trap '' TERM; while true; do sleep 0.2; done",
  });
  const r1 = h.newRuntime();
  await r1.ensure(d);
  const before = await waitFor("2 running", async () => {
    const ps = await h.pods("stubborn");
    return ps.length === 2 && ps.every((p) => p.status.phase === "Running") && ps;
  });
  const pids = before.map((p) => r1.replica("default", p.metadata.name)?.pid);
  const t0 = Date.now();
  await r1.stop();
  const took = Date.now() - t0;
  assert.ok(took >= 1400, `waited the grace period (${took} ms)`);
  assert.ok(
    pids.every((pid) => !alive(pid)),
    "processes killed",
  );
  const stopped = await h.pods("stubborn");
  assert.equal(stopped.length, 2, "pods stay in the store");
  for (const p of stopped) {
    assert.equal(p.status.podIP, undefined);
    assert.equal(p.status.containerStatuses[0].state.waiting?.reason, "RuntimeStopped");
  }
  const r2 = h.newRuntime();
  await r2.ensure(d);
  const again = await waitFor("2 running again", async () => {
    const ps = await h.pods("stubborn");
    return ps.every((p) => p.status.phase === "Running" && p.status.podIP) && ps;
  });
  assert.deepEqual(
    again.map((p) => p.metadata.name).sort(),
    before.map((p) => p.metadata.name).sort(),
  );
  await r2.remove("default", "stubborn");
});

test("stopping drains: the pod leaves (no podIP) while its process still runs, then stops", async () => {
  const r = h.newRuntime({ drain: { delayMs: 800 } });
  await r.ensure(deployment({ name: "drain" }));
  const [pod] = await waitFor("ready pod", async () => {
    const ps = await h.pods("drain");
    return ps.length === 1 && ps[0].status.podIP === "127.0.0.1" && ps;
  });
  const pid = r.replica("default", pod.metadata.name)?.pid;
  const stopping = r.stop();
  await waitFor("podIP removed", async () => {
    const [p] = await h.pods("drain");
    return p.status.podIP === undefined;
  });
  assert.ok(alive(pid), "still running while the load balancers drop it");
  await stopping;
  assert.ok(!alive(pid));
  await h.newRuntime().remove("default", "drain");
});
