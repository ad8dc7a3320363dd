// Rolling update and rollback end to end under load (issue 11): the
// standalone runtime, the real bin/domeos-confd and a real nginx, keep-alive
// clients (GET and POST) and Connection: close clients through nginx for the
// whole run. A PATCH of the app's VERSION rolls 3 pods one by one (each new
// pod Ready, then an old one drained with confd's confirmation, then
// stopped), then a rollback to revision 1 rolls them back: 0 failed requests,
// and the answers switch to the new VERSION (and back). With dynamic
// endpoints (nginx's Lua module, no reload) both client groups see 0
// failures; with reloads the Connection: close group does, and keep-alive
// clients see only the resets of connections an exiting nginx worker closes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DrainOutcome } from "../../src/runtime/drain.js";
import { describeGroup, FIRST_PHASE, type GroupStats, startLoad } from "./load.js";
import { DEPLOYMENT, System } from "./system.js";

const APP = `const fs = require("node:fs");
const cfg = JSON.parse(fs.readFileSync("config.json", "utf8"));
const srv = require("node:http").createServer((q, s) => {
  q.resume();
  q.on("end", () => s.end(JSON.stringify({ replica: cfg.name, version: process.env.VERSION })));
});
srv.keepAliveTimeout = 30000;
srv.listen(cfg.port, "127.0.0.1");
process.on("SIGTERM", () => srv.close(() => process.exit(0)));
`;

/** Versions answered after `t` (by both groups). */
function versionsAfter(groups: GroupStats[], t: number): Set<string> {
  return new Set(groups.flatMap((g) => g.answers.filter((v) => v.at > t).map((v) => v.value)));
}

for (const dynamic of [false, true]) {
  test(`rollout and rollback under keep-alive + close load: 0 failed, answers switch (${dynamic ? "dynamic endpoints" : "nginx reloads: close clients"})`, {
    timeout: 300_000,
  }, async (t) => {
    const sys = new System("embedded", {}, { dynamic });
    const drained: DrainOutcome[] = [];
    try {
      await sys.start();
      sys.sa!.runtime.on("drained", (_n: string[], outcome: DrainOutcome) => drained.push(outcome));
      const created = await sys.api(
        "POST",
        "/api/deployments",
        sys.scriptDeployment(APP, 3, { VERSION: "v1" }),
      );
      assert.equal(created.status, 201, created.msg);
      await sys.rolloutComplete();
      await sys.routesTo(
        (await sys.pods()).map((p) => p.metadata.name),
        60_000,
      );
      await sys.applied();
      const load = startLoad({
        url: `http://127.0.0.1:${sys.nginx!.port}/`,
        keepAliveClients: 8,
        closeClients: 4,
        intervalMs: 10,
        answerField: "version",
      });

      const up = await sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, {
        env: { VERSION: "v2" },
      });
      assert.equal(up.status, 200, up.msg);
      const rolled = await sys.rolloutComplete();
      assert.equal(rolled.revision, 2);
      await sys.applied();
      const afterRollout = Date.now();
      await new Promise((r) => setTimeout(r, 1000));

      const back = await sys.api("POST", `/api/deployments/default/${DEPLOYMENT}/rollback`, {
        toRevision: 1,
      });
      assert.equal(back.status, 200, back.msg);
      const rolledBack = await sys.rolloutComplete();
      assert.equal(rolledBack.revision, 3);
      await sys.applied();
      const afterRollback = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const { keepAlive: keep, close } = (await load.stop())[FIRST_PHASE]!;

      const counts = `keep-alive: ${describeGroup(keep)}; close: ${describeGroup(close)}`;
      assert.ok(keep.requests - keep.failed > 100 && close.requests - close.failed > 50, counts);
      const why = `${counts}\nnginx error.log:\n${sys.nginxErrors()}`;
      t.diagnostic(counts);
      assert.equal(close.failed, 0, why);
      if (dynamic) assert.equal(keep.failed, 0, why);
      // with reloads, an idle keep-alive connection an old nginx worker closes as it
      // exits resets a request sent at that instant (issue 10; dynamic endpoints
      // reload nothing): only that, never a 5xx or a timeout
      else
        assert.ok(
          Object.keys(keep.errors).every((e) => e.endsWith(" ECONNRESET")),
          why,
        );
      const all = [keep, close];
      const during = versionsAfter(all, 0);
      assert.ok(during.has("v1") && during.has("v2"), "both versions answered");
      const between = all.flatMap((g) =>
        g.answers.filter((v) => v.at > afterRollout && v.at < afterRollout + 1000),
      );
      assert.ok(between.length > 0);
      assert.deepEqual(
        [...new Set(between.map((v) => v.value))],
        ["v2"],
        "after the rollout only v2 answers",
      );
      assert.deepEqual(
        [...versionsAfter(all, afterRollback)],
        ["v1"],
        "after the rollback only v1",
      );
      assert.ok(drained.length >= 6, `6 drains (3 per rollout), got ${drained.length}`);
      assert.ok(
        drained.every((o) => o === "confirmed"),
        `every drain confirmed by confd: ${drained.join(",")}`,
      );
    } finally {
      await sys.destroy();
    }
  });
}
