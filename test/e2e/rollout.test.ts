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
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../src/main/repo-root.js";
import type { DrainOutcome } from "../../src/runtime/drain.js";
import type { RolloutStatus } from "../../src/server/deploy/rollout-types.js";
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

interface Counts {
  ok: number;
  failed: number;
  errors: string[];
  /** Versions answered, in order, with when. */
  versions: { at: number; version: string }[];
}

/** `clients` loops through nginx until stop(): keep-alive (GET/POST alternating) or Connection: close. */
function load(port: number, clients: number, keepAlive: boolean) {
  let running = true;
  const counts: Counts = { ok: 0, failed: 0, errors: [], versions: [] };
  const one = (agent: Agent, method: string) =>
    new Promise<{ version?: string; error?: string }>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/",
          method,
          agent,
          timeout: 10_000,
          headers: keepAlive ? {} : { connection: "close" },
        },
        (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => {
            if (res.statusCode !== 200) return resolve({ error: `HTTP ${res.statusCode}` });
            try {
              resolve({ version: String(JSON.parse(body).version) });
            } catch {
              resolve({ error: `bad body ${body.slice(0, 40)}` });
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
      req.end(method === "POST" ? "x" : undefined);
    });
  const loops = Array.from({ length: clients }, async () => {
    const agent = new Agent({ keepAlive, maxSockets: 1 });
    for (let n = 0; running; n++) {
      const r = await one(agent, n % 2 ? "POST" : "GET");
      if (r.error !== undefined) {
        counts.failed++;
        counts.errors.push(`${new Date().toISOString()} ${r.error}`);
      } else {
        counts.ok++;
        counts.versions.push({ at: Date.now(), version: r.version! });
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    agent.destroy();
  });
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

async function rolloutDone(sys: System): Promise<RolloutStatus> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const res = await fetch(`${sys.sa!.url}/api/deployments/default/${DEPLOYMENT}/rollout`, {
      headers: { authorization: `Bearer ${sys.sa!.adminToken}` },
    });
    const s = ((await res.json()) as { result: RolloutStatus }).result;
    if (s.phase === "Failed") throw new Error(`rollout failed: ${s.reason}`);
    if (s.phase === "Complete") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("rollout not complete within 120 s");
}

/** Versions answered after `t` (by both groups). */
function versionsAfter(groups: Counts[], t: number): Set<string> {
  return new Set(groups.flatMap((g) => g.versions.filter((v) => v.at > t).map((v) => v.version)));
}

for (const dynamic of [false, true]) {
  test(`rollout and rollback under keep-alive + close load: 0 failed, answers switch (${dynamic ? "dynamic endpoints" : "nginx reloads: close clients"})`, {
    timeout: 300_000,
  }, async (t) => {
    const sys = new System("embedded", {}, { dynamic });
    writeFileSync(join(sys.dir, "app.cjs"), APP);
    const drained: DrainOutcome[] = [];
    try {
      await sys.start();
      sys.sa!.runtime.on("drained", (_n: string[], outcome: DrainOutcome) => drained.push(outcome));
      const tmpl = join(repoRoot(), "examples", "demo-app", "config.json.tmpl");
      const created = await sys.api("POST", "/api/deployments", {
        name: DEPLOYMENT,
        command: ["node", join(sys.dir, "app.cjs")],
        replicas: 3,
        ports: 1,
        templates: [`${tmpl}:config.json`],
        env: { VERSION: "v1" },
      });
      assert.equal(created.status, 201, created.msg);
      await rolloutDone(sys);
      await sys.routesTo(
        (await sys.pods()).map((p) => p.metadata.name),
        60_000,
      );
      await sys.applied();
      const port = sys.nginx!.port;
      const groups = [load(port, 8, true), load(port, 4, false)];

      const up = await sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, {
        env: { VERSION: "v2" },
      });
      assert.equal(up.status, 200, up.msg);
      const rolled = await rolloutDone(sys);
      assert.equal(rolled.revision, 2);
      await sys.applied();
      const afterRollout = Date.now();
      await new Promise((r) => setTimeout(r, 1000));

      const back = await sys.api("POST", `/api/deployments/default/${DEPLOYMENT}/rollback`, {
        toRevision: 1,
      });
      assert.equal(back.status, 200, back.msg);
      const rolledBack = await rolloutDone(sys);
      assert.equal(rolledBack.revision, 3);
      await sys.applied();
      const afterRollback = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const [keep, close] = await Promise.all(groups.map((g) => g.stop()));

      const report = (name: string, c: Counts) =>
        `${name}: ${c.ok} ok, ${c.failed} failed: ${c.errors.slice(0, 5).join("; ")}`;
      assert.ok(
        keep!.ok > 100 && close!.ok > 50,
        `${report("keep-alive", keep!)}; ${report("close", close!)}`,
      );
      const why = `${report("keep-alive", keep!)}; ${report("close", close!)}\nnginx error.log:\n${sys.nginxErrors()}`;
      t.diagnostic(`${report("keep-alive", keep!)}; ${report("close", close!)}`);
      assert.equal(close!.failed, 0, why);
      if (dynamic) assert.equal(keep!.failed, 0, why);
      // with reloads, an idle keep-alive connection an old nginx worker closes as it
      // exits resets a request sent at that instant (issue 10; dynamic endpoints
      // reload nothing): only that, never a 5xx or a timeout
      else
        assert.ok(
          keep!.errors.every((e) => e.endsWith(" ECONNRESET")),
          why,
        );
      const all = [keep!, close!];
      const during = versionsAfter(all, 0);
      assert.ok(during.has("v1") && during.has("v2"), "both versions answered");
      const between = all.flatMap((g) =>
        g.versions.filter((v) => v.at > afterRollout && v.at < afterRollout + 1000),
      );
      assert.ok(between.length > 0);
      assert.deepEqual(
        [...new Set(between.map((v) => v.version))],
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
