// Drain before stop, end to end: the standalone runtime, the real
// bin/domeos-confd and a real nginx under continuous load. Scale-down and
// delete take each pod out of routing, wait until confd confirms it applied
// that (appliedRevision in its /healthz), then SIGTERM: no request reaches a
// pod after its SIGTERM, and no request fails during the scale-down.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../src/main/repo-root.js";
import type { DrainOutcome } from "../../src/runtime/drain.js";
import { DEPLOYMENT, System } from "./system.js";

// logs every request and the SIGTERM, in arrival order, to $EVENTS_DIR/<pod>.log
const APP = `const fs = require("node:fs");
const cfg = JSON.parse(fs.readFileSync("config.json", "utf8"));
const log = require("node:path").join(process.env.EVENTS_DIR, cfg.name + ".log");
const srv = require("node:http").createServer((q, s) => {
  fs.appendFileSync(log, "req\\n");
  s.end(JSON.stringify({ replica: cfg.name, port: cfg.port, pid: process.pid }));
});
srv.listen(cfg.port, "127.0.0.1");
// keeps serving for a while after SIGTERM (as apps finishing their work do),
// so a request routed to it after its SIGTERM would be seen
process.on("SIGTERM", () => {
  fs.appendFileSync(log, "term\\n");
  setTimeout(() => process.exit(0), 700);
});
`;

test("drain: no request reaches a pod after its SIGTERM (real confd and nginx)", {
  timeout: 240_000,
}, async () => {
  const sys = new System("embedded");
  const events = join(sys.dir, "events");
  mkdirSync(events);
  writeFileSync(join(sys.dir, "app.cjs"), APP);
  const drained: DrainOutcome[] = [];
  try {
    await sys.start();
    const marks: string[] = [];
    sys.sa!.runtime.on("drained", (names: string[], outcome: DrainOutcome) => {
      drained.push(outcome);
      marks.push(`${names.join(",")} drained (${outcome}) at ${Date.now()}`);
    });
    const tmpl = join(repoRoot(), "examples", "demo-app", "config.json.tmpl");
    const created = await sys.api("POST", "/api/deployments", {
      name: DEPLOYMENT,
      command: ["node", join(sys.dir, "app.cjs")],
      replicas: 3,
      ports: 1,
      templates: [`${tmpl}:config.json`],
      env: { EVENTS_DIR: events },
    });
    assert.equal(created.status, 201, created.msg);
    const names = (await sys.pods()).map((p) => p.metadata.name);
    assert.equal(names.length, 3);
    await sys.routesTo(names, 60_000);
    // the load starts once no nginx worker routes with an upstream from
    // before the three pods were ready (the last reload may still be under way)
    await sys.applied();

    let loading = true;
    let failed = 0;
    let ok = 0;
    const t0 = Date.now();
    const failures: string[] = [];
    const client = async () => {
      while (loading) {
        const sent = Date.now() - t0;
        const r = await sys.requestViaNginx();
        if ("reply" in r) ok++;
        else {
          failed++;
          failures.push(`sent at ${sent} ms: ${r.failure}`);
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    const scaled = await sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, {
      replicas: 1,
    });
    assert.equal(scaled.status, 200, scaled.msg);
    const okAtScale = ok;
    const failedAtScale = failed;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await sys.api("DELETE", `/api/deployments/default/${DEPLOYMENT}`)).status, 200);
    loading = false;
    await Promise.all(clients);

    assert.ok(okAtScale > 0, "load ran during the scale-down");
    assert.equal(
      failedAtScale,
      0,
      `requests failed during the scale-down (${okAtScale} ok): ${failures.slice(0, failedAtScale).join("; ")} (t0 ${t0}; ${marks.join("; ")})\nnginx error.log:\n${sys.nginxErrors()}`,
    );
    for (const name of names) {
      const file = join(events, `${name}.log`);
      assert.ok(existsSync(file), `${name} logged nothing`);
      const lines = readFileSync(file, "utf8").trim().split("\n");
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
