// Dynamic endpoints end to end (issue 12): the standalone runtime, the real
// bin/domeos-confd pushing members to a real nginx with Debian's Lua module
// (docs/nginx-dynamic.md). Pod changes reach nginx without a reload (master
// and worker pids unchanged, confd's reload counter unchanged), keep-alive
// clients see 0 failed requests through a scale-up and a scale-down, drains
// are still confirmed through confd's appliedRevision (no request reaches a
// pod after its SIGTERM), a restarted nginx gets the list back in full, and
// a pod whose port is not a port is left out while the others apply.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { DrainOutcome } from "../../src/runtime/drain.js";
import { updatePod } from "../../src/runtime/pod-writer.js";
import { until } from "../support/poll.js";
import { describeGroup, FIRST_PHASE, startLoad } from "./load.js";
import { DEPLOYMENT, System } from "./system.js";

interface DynHealth {
  healthy: boolean;
  resources: {
    appliedRevision?: number;
    excludedKeys?: { key: string }[];
    dynamicEndpoints?: { state: string; reason?: string; pushedRevision?: number };
  }[];
}

async function health(sys: System): Promise<DynHealth> {
  return (await (await fetch(sys.confdHealthUrl)).json()) as DynHealth;
}

let current: System | null = null;

/** What confd said, for a timed-out wait. */
async function confdState(): Promise<string> {
  const h = current ? await fetch(current.confdHealthUrl).then((r) => r.text(), String) : "";
  return `confd /healthz: ${h}\nconfd log:\n${current?.confdLog(60) ?? ""}`;
}

/** Poll every 20 ms for 30 s (a throw is retried); a timeout says what confd said. */
function waitFor<T>(what: string, fn: () => Promise<T | undefined>): Promise<NonNullable<T>> {
  return until(what, fn, {
    timeoutMs: 30_000,
    intervalMs: 20,
    retryThrows: true,
    detail: confdState,
  });
}

async function startSystem(): Promise<System> {
  const sys = new System("embedded", {}, { dynamic: true });
  current = sys;
  await sys.start();
  const created = await sys.api("POST", "/api/deployments", sys.eventLogDeployment(2));
  assert.equal(created.status, 201, created.msg);
  await sys.routesTo(
    (await sys.pods()).map((p) => p.metadata.name),
    60_000,
  );
  // routed by pushed members before confd's first render was applied (its one
  // nginx reload): wait for it, so the test's reload count starts after it
  await sys.applied();
  return sys;
}

test("dynamic endpoints: scale 2 -> 4 -> 1 under keep-alive load: 0 failed, no nginx reload, drains confirmed", {
  timeout: 240_000,
}, async () => {
  const sys = await startSystem();
  const drained: DrainOutcome[] = [];
  try {
    sys.sa!.runtime.on("drained", (_n: string[], o: DrainOutcome) => drained.push(o));
    const master = sys.nginx!.pid!;
    const workers = sys.nginx!.workerPids();
    const reloads = await sys.confdMetric("confd_reloads_total", 'result="ok"');
    const load = startLoad({
      url: `http://127.0.0.1:${sys.nginx!.port}/`,
      keepAliveClients: 8,
      closeClients: 0,
      intervalMs: 20,
    });
    const patch = (replicas: number) =>
      sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, { replicas });

    assert.equal((await patch(4)).status, 200);
    const four = await waitFor("4 pods", async () => {
      const pods = await sys.pods();
      return pods.length === 4 ? pods.map((p) => p.metadata.name) : undefined;
    });
    await sys.routesTo(four, 60_000);
    assert.equal((await sys.members()).length, 4);
    const scaled = await patch(1);
    assert.equal(scaled.status, 200, scaled.msg);
    await waitFor("1 member", async () => ((await sys.members()).length === 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1000));
    const counts = (await load.stop())[FIRST_PHASE]!.keepAlive;

    assert.ok(counts.requests - counts.failed > 100, `load ran: ${describeGroup(counts)}`);
    assert.equal(counts.failed, 0, `failed requests: ${describeGroup(counts)}`);
    assert.equal(sys.nginx!.pid, master, "nginx master unchanged");
    assert.deepEqual(sys.nginx!.workerPids(), workers, "nginx workers unchanged: no reload");
    assert.equal(
      await sys.confdMetric("confd_reloads_total", 'result="ok"'),
      reloads,
      "confd reloaded nothing for pod changes",
    );
    assert.ok((await sys.confdMetric("confd_member_pushes_total", 'result="ok"')) >= 2);
    assert.deepEqual(
      drained,
      ["confirmed", "confirmed", "confirmed"],
      "3 drains confirmed by confd",
    );
    // no request reached a pod after its SIGTERM
    for (const name of four) {
      const lines = sys.eventLog(name);
      if (!lines) continue;
      const term = lines.indexOf("term");
      if (term >= 0)
        assert.deepEqual(lines.slice(term + 1), [], `${name}: requests after its SIGTERM`);
    }
    const h = await health(sys);
    assert.equal(h.resources[0].dynamicEndpoints?.state, "in-sync");
  } finally {
    await sys.destroy();
  }
});

test("dynamic endpoints: nginx restart, an outage or a foreign push -> the list is pushed again in full, /healthz says why meanwhile; a bad pod is left out, the others apply", {
  timeout: 240_000,
}, async () => {
  const sys = await startSystem();
  try {
    const before = (await sys.members()).sort();
    assert.equal(before.length, 2);
    await sys.nginx!.stop();
    await sys.nginx!.start();
    // a new nginx: empty dict until confd's verify sees the new boot id and re-pushes
    const restored = await waitFor("the list back in nginx", async () => {
      const m = (await sys.members()).sort();
      return m.length === 2 ? m : undefined;
    });
    assert.deepEqual(restored, before);
    await sys.routesTo(
      (await sys.pods()).map((p) => p.metadata.name),
      30_000,
    );
    const h = await waitFor("in-sync health", async () => {
      const x = await health(sys);
      return x.resources[0].dynamicEndpoints?.state === "in-sync" ? x : undefined;
    });
    assert.equal(h.healthy, true);
    // a new boot id, or, when confd's verify ran while nginx was down, an
    // outage: either way the whole list was pushed again
    const repushes = await Promise.all(
      ['reason="nginx_restarted"', 'reason="unreachable"'].map((r) =>
        sys.confdMetric("confd_member_repushes_total", r),
      ),
    );
    assert.ok(repushes[0] + repushes[1] >= 1, `re-pushes (restarted, unreachable): ${repushes}`);

    // endpoint lost: /healthz 503 naming it, appliedRevision frozen; back: pushed again in full
    await sys.nginx!.stop();
    const down = await waitFor("unreachable health", async () => {
      const x = await health(sys);
      return x.resources[0].dynamicEndpoints?.state === "unreachable" ? x : undefined;
    });
    assert.equal(down.healthy, false);
    assert.match(down.resources[0].dynamicEndpoints?.reason ?? "", /endpoint unreachable/);
    const res = await fetch(sys.confdHealthUrl);
    assert.equal(res.status, 503);
    await res.text();
    await sys.nginx!.start();
    await waitFor("the list back after the outage", async () =>
      (await sys.members()).length === 2 ? true : undefined,
    );
    await waitFor("in-sync after the outage", async () =>
      (await health(sys)).resources[0].dynamicEndpoints?.state === "in-sync" ? true : undefined,
    );

    // someone else replaces the list: confd sees another generation and puts its own back
    const secret = readFileSync(sys.nginx!.secretFile, "utf8");
    const foreign = await fetch(`${sys.nginx!.membersUrl}/img_cs_group`, {
      method: "POST",
      headers: { "x-domeos-secret": secret, "x-domeos-pusher": "intruder", "x-domeos-seq": "1" },
      body: "127.0.0.1:9",
    });
    assert.equal(foreign.status, 200);
    await waitFor("confd's list back", async () => {
      const m = (await sys.members()).sort();
      return JSON.stringify(m) === JSON.stringify(before) ? true : undefined;
    });
    assert.ok(
      (await sys.confdMetric("confd_member_repushes_total", 'reason="changed_elsewhere"')) >= 1,
    );

    // a pod whose port is not a port: left out (traced), the others still change
    const [good, victim] = (await sys.pods()).map((p) => p.metadata.name);
    await updatePod(sys.reader!, "default", victim, (p) => {
      p.metadata.annotations.AUTO_PORT0 = "abc";
    });
    const excluded = await waitFor("the bad pod excluded", async () => {
      const x = await health(sys);
      const keys = x.resources[0].excludedKeys?.map((e) => e.key) ?? [];
      return keys.some((k) => k.endsWith(`/${victim}`)) ? keys : undefined;
    });
    assert.equal(excluded.length, 1);
    await waitFor("1 member", async () => ((await sys.members()).length === 1 ? true : undefined));
    await sys.routesTo([good], 30_000);
  } finally {
    await sys.destroy();
  }
});
