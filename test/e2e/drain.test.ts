// Drain before stop, end to end: the standalone runtime, the real
// bin/domeos-confd and a real nginx under continuous load. Scale-down and
// delete take each pod out of routing, wait until confd confirms it applied
// that (appliedRevision in its /healthz), then SIGTERM: no request reaches a
// pod after its SIGTERM, and no request fails during the scale-down.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DrainOutcome } from "../../src/runtime/drain.js";
import { describeGroup, FIRST_PHASE, startLoad } from "./load.js";
import { DEPLOYMENT, System } from "./system.js";

test("drain: no request reaches a pod after its SIGTERM (real confd and nginx)", {
  timeout: 240_000,
}, async () => {
  const sys = new System("embedded");
  const drained: DrainOutcome[] = [];
  try {
    await sys.start();
    const marks: string[] = [];
    sys.sa!.runtime.on("drained", (names: string[], outcome: DrainOutcome) => {
      drained.push(outcome);
      marks.push(`${names.join(",")} drained (${outcome}) at ${new Date().toISOString()}`);
    });
    const created = await sys.api("POST", "/api/deployments", sys.eventLogDeployment(3));
    assert.equal(created.status, 201, created.msg);
    const names = (await sys.pods()).map((p) => p.metadata.name);
    assert.equal(names.length, 3);
    await sys.routesTo(names, 60_000);
    // the load starts once no nginx worker routes with an upstream from
    // before the three pods were ready (the last reload may still be under way)
    await sys.applied();

    // Connection: close clients, each waiting at most 2 s for an answer
    const load = startLoad({
      url: `http://127.0.0.1:${sys.nginx!.port}/`,
      keepAliveClients: 0,
      closeClients: 4,
      intervalMs: 0,
      timeoutMs: 2000,
      answerField: "replica",
    });
    const scaled = await sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, {
      replicas: 1,
    });
    assert.equal(scaled.status, 200, scaled.msg);
    load.phase("delete");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await sys.api("DELETE", `/api/deployments/default/${DEPLOYMENT}`)).status, 200);
    const atScale = (await load.stop())[FIRST_PHASE]!.close;

    assert.ok(atScale.requests > atScale.failed, "load ran during the scale-down");
    assert.equal(
      atScale.failed,
      0,
      `requests failed during the scale-down: ${describeGroup(atScale)} (${marks.join("; ")})\nnginx error.log:\n${sys.nginxErrors()}`,
    );
    for (const name of names) {
      const lines = sys.eventLog(name);
      assert.ok(lines, `${name} logged nothing`);
      const term = lines.indexOf("term");
      assert.ok(term > 0, `${name}: requests, then SIGTERM: ${lines.slice(-3).join(",")}`);
      assert.deepEqual(lines.slice(term + 1), [], `${name}: requests after its SIGTERM`);
    }
    assert.deepEqual(
      drained,
      ["confirmed", "confirmed", "confirmed"],
      "confd confirmed each of the 3 drains",
    );
  } finally {
    await sys.destroy();
  }
});
