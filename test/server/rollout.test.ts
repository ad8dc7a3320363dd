// Rolling updates with the process runtime and real pods (bin/domeize, the
// server's ledger, readiness = AUTO_PORT0 accepts connections): a change to
// what pods run replaces them one by one and the Ready pods never drop below
// the replicas (watched on every store event); a revision that crashes or is
// never Ready fails the rollout and the old pods keep serving; rollback to a
// named revision; PATCH validation (unknown field, bad value, no room in the
// port range for the surge pod: 400, nothing changed).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Standalone, startStandalone } from "../../src/main/standalone-server.js";
import { isRoutable, type PodObject } from "../../src/runtime/pod-object.js";
import { listPods } from "../../src/runtime/pod-writer.js";
import type { RevisionRecord, RolloutStatus } from "../../src/server/deploy/rollout-types.js";
import type { Watch } from "../../src/store/store.js";
import { runDeployCli, until } from "./helpers.js";
import { deployApi, rolloutPhase as phaseOf } from "./rollout-helpers.js";

// answers its VERSION and pod name on AUTO_PORT0, once READY_DELAY_MS passed; exits with CRASH if set
const APP = `const v = process.env;
if (v.CRASH) { console.error("crashing on purpose"); process.exit(+v.CRASH); }
setTimeout(() => {
  require("node:http").createServer((q, s) => s.end(v.VERSION + " " + v.MY_POD_NAME))
    .listen(+v.AUTO_PORT0, "127.0.0.1");
}, +(v.READY_DELAY_MS || 0));
process.on("SIGTERM", () => process.exit(0));
`;

const dir = mkdtempSync(join(tmpdir(), "server-rollout-"));
const app = join(dir, "app.cjs");
writeFileSync(app, APP);
// a port range of its own, away from other tests'
const base = 41000 + Math.floor(Math.random() * 30) * 100;

async function start(range = { min: base, max: base + 99 }, sub = "data"): Promise<Standalone> {
  return startStandalone({
    dataDir: join(dir, sub),
    listen: "127.0.0.1:0",
    portRange: range,
    backoff: { initialMs: 100, maxMs: 400, factor: 2, resetAfterMs: 10_000 },
    drain: { delayMs: 50 },
    graceMs: 2000,
  });
}

function api<T = unknown>(sa: Standalone, method: string, path: string, body?: unknown) {
  return deployApi<T>(sa.url, sa.adminToken, method, path, body);
}

function rolloutPhase(sa: Standalone, name: string, phase: RolloutStatus["phase"], ms = 90_000) {
  return phaseOf(sa.url, sa.adminToken, name, phase, ms);
}

/** Every pod-store event, counting Ready (routable) pods of a deployment: the lowest count seen. */
async function watchReady(sa: Standalone, name: string) {
  const pods = new Map<string, { ready: boolean; port?: string }>();
  const note = (p: PodObject) => {
    if (p.metadata.labels.deployName === name)
      pods.set(p.metadata.name, { ready: isRoutable(p), port: p.metadata.annotations.AUTO_PORT0 });
  };
  for (const p of await listPods(sa.store, "default")) note(p);
  const count = () => [...pods.values()].filter((p) => p.ready).length;
  // two pods present at once never share a port: an old pod holds its ports until it is gone
  const shared = () => {
    const ports = [...pods.values()].flatMap((p) => (p.port ? [p.port] : []));
    return ports.length - new Set(ports).size;
  };
  const seen = { min: count(), events: 0, sharedPorts: 0 };
  const rev = await sa.store.revision();
  const w: Watch = await sa.store.watch("/registry/pods/default/", rev + 1, {
    onEvents(events) {
      for (const e of events) {
        if (e.type === "delete") pods.delete(e.key.split("/").pop()!);
        else note(JSON.parse(e.kv.value) as PodObject);
      }
      seen.events++;
      seen.min = Math.min(seen.min, count());
      seen.sharedPorts = Math.max(seen.sharedPorts, shared());
    },
    onError() {},
  });
  return { seen, close: () => w.close() };
}

async function replies(sa: Standalone, name: string): Promise<string[]> {
  const pods = (await listPods(sa.store, "default")).filter(
    (p) => p.metadata.labels.deployName === name,
  );
  return Promise.all(
    pods.map(async (p) => {
      const r = await fetch(`http://127.0.0.1:${p.metadata.annotations.AUTO_PORT0}/`);
      return r.text();
    }),
  );
}

async function podsOf(sa: Standalone, name: string): Promise<PodObject[]> {
  return (await listPods(sa.store, "default")).filter((p) => p.metadata.labels.deployName === name);
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe("rolling updates (process runtime, real pods)", () => {
  let sa: Standalone;
  before(async () => {
    sa = await start();
  });
  after(() => sa?.close());

  test("a rollout replaces pods one by one, never fewer Ready than replicas; every pod new", {
    timeout: 180_000,
  }, async () => {
    const c = await api(sa, "POST", "", {
      name: "web",
      command: ["node", app],
      replicas: 3,
      ports: 1,
      env: { VERSION: "v1" },
    });
    assert.equal(c.status, 201, c.msg);
    await rolloutPhase(sa, "web", "Complete");
    const before = await podsOf(sa, "web");
    assert.deepEqual(
      before.map((p) => p.metadata.labels.podRevision),
      ["1", "1", "1"],
    );

    const watch = await watchReady(sa, "web");
    const u = await api(sa, "PATCH", "/default/web", {
      env: { VERSION: "v2", READY_DELAY_MS: "300" },
    });
    assert.equal(u.status, 200, u.msg);
    assert.equal((u.result as { revision: number }).revision, 2);
    const done = await rolloutPhase(sa, "web", "Complete");
    await watch.close();
    assert.ok(watch.seen.events > 0);
    assert.ok(watch.seen.min >= 3, `Ready pods fell to ${watch.seen.min} during the rollout`);
    assert.equal(watch.seen.sharedPorts, 0, "no two pods ever held the same port");
    assert.deepEqual(
      { ...done, startedAt: undefined, finishedAt: undefined },
      {
        revision: 2,
        phase: "Complete",
        desired: 3,
        updated: 3,
        ready: 3,
        available: 3,
        oldPods: 0,
        startedAt: undefined,
        finishedAt: undefined,
      },
    );
    const after = await podsOf(sa, "web");
    assert.equal(after.length, 3);
    assert.deepEqual(
      after.map((p) => p.metadata.labels.podRevision),
      ["2", "2", "2"],
    );
    for (const p of after) {
      assert.ok(!before.some((b) => b.metadata.name === p.metadata.name), "every pod is new");
    }
    assert.deepEqual(
      (await replies(sa, "web")).map((r) => r.split(" ")[0]),
      ["v2", "v2", "v2"],
    );
    const h = await api<RevisionRecord[]>(sa, "GET", "/default/web/history");
    assert.deepEqual(
      h.result.map((r) => [r.revision, r.cause, r.by, r.spec.env.VERSION]),
      [
        [1, "create", "rollout-test", "v1"],
        [2, "update: env", "rollout-test", "v2"],
      ],
    );
    // replicas only: no new revision, instant
    const s = await api(sa, "PATCH", "/default/web", { replicas: 2 });
    assert.equal(s.status, 200, s.msg);
    assert.equal((s.result as { revision: number }).revision, 2);
    assert.equal((await podsOf(sa, "web")).length, 2, "scaled down before the answer");
    assert.equal((await api<RevisionRecord[]>(sa, "GET", "/default/web/history")).result.length, 2);
    assert.equal((await api(sa, "PATCH", "/default/web", { replicas: 3 })).status, 200);
    await rolloutPhase(sa, "web", "Complete");
    await until("3 Ready", async () => (await podsOf(sa, "web")).filter(isRoutable).length === 3);
  });

  test("a crash-looping revision fails the rollout; old pods keep serving", {
    timeout: 180_000,
  }, async () => {
    const watch = await watchReady(sa, "web");
    const u = await api(sa, "PATCH", "/default/web", {
      env: { VERSION: "v3", CRASH: "3" },
    });
    assert.equal(u.status, 200, u.msg);
    const failed = await rolloutPhase(sa, "web", "Failed");
    await watch.close();
    assert.equal(failed.revision, 3);
    assert.match(String(failed.reason), /crash-looping: exit code 3 \(\d+ restarts\)/);
    assert.ok(watch.seen.min >= 3, `Ready pods fell to ${watch.seen.min}`);
    const pods = await until("the failing pods removed", async () => {
      const ps = await podsOf(sa, "web");
      return ps.length === 3 && ps;
    });
    assert.deepEqual(
      pods.map((p) => p.metadata.labels.podRevision),
      ["2", "2", "2"],
    );
    assert.ok(pods.every(isRoutable));
    assert.deepEqual(
      (await replies(sa, "web")).map((r) => r.split(" ")[0]),
      ["v2", "v2", "v2"],
    );
    const st = await api<RolloutStatus>(sa, "GET", "/default/web/rollout");
    assert.deepEqual([st.result.updated, st.result.available, st.result.oldPods], [0, 3, 3]);
  });

  test("a revision never Ready within progressDeadlineSeconds fails, naming the probe", {
    timeout: 120_000,
  }, async () => {
    const u = await api(sa, "PATCH", "/default/web", {
      env: { VERSION: "v4", READY_DELAY_MS: "600000" },
      progressDeadlineSeconds: 3,
    });
    assert.equal(u.status, 200, u.msg);
    const failed = await rolloutPhase(sa, "web", "Failed");
    assert.equal(failed.revision, 4);
    assert.match(
      String(failed.reason),
      /no progress within the progress deadline \(3s\): pod web-\w+ not Ready: (readiness probe: (TCP connect to 127\.0\.0\.1:\d+ failed|AUTO_PORT0 is not published yet)|not ready yet)/,
    );
    const pods = await until("back to 3 pods", async () => {
      const ps = await podsOf(sa, "web");
      return ps.length === 3 && ps;
    });
    assert.ok(pods.every((p) => p.metadata.labels.podRevision === "2" && isRoutable(p)));
  });

  test("rollback to a named revision (and to one that does not exist)", {
    timeout: 180_000,
  }, async () => {
    const none = await api(sa, "POST", "/default/web/rollback", { toRevision: 99 });
    assert.equal(none.status, 404);
    assert.match(none.msg, /has no revision 99 \(kept: 1, 2, 3, 4\)/);
    const watch = await watchReady(sa, "web");
    const r = await api(sa, "POST", "/default/web/rollback", { toRevision: 1 });
    assert.equal(r.status, 200, r.msg);
    assert.equal((r.result as { revision: number }).revision, 5);
    await rolloutPhase(sa, "web", "Complete");
    await watch.close();
    assert.ok(watch.seen.min >= 3, `Ready pods fell to ${watch.seen.min}`);
    assert.deepEqual(
      (await replies(sa, "web")).map((x) => x.split(" ")[0]),
      ["v1", "v1", "v1"],
    );
    const h = await api<RevisionRecord[]>(sa, "GET", "/default/web/history");
    assert.deepEqual(
      h.result.map((x) => [x.revision, x.cause]),
      [
        [1, "create"],
        [2, "update: env"],
        [3, "update: env"],
        [4, "update: env"],
        [5, "rollback to 1"],
      ],
    );
    const again = await api(sa, "POST", "/default/web/rollback", { toRevision: 2 });
    assert.equal(again.status, 200, again.msg);
    await rolloutPhase(sa, "web", "Complete");
    assert.deepEqual(
      (await replies(sa, "web")).map((x) => x.split(" ")[0]),
      ["v2", "v2", "v2"],
    );
    const same = await api(sa, "POST", "/default/web/rollback", { toRevision: 2 });
    assert.equal(same.status, 400);
    assert.match(same.msg, /nothing to roll back: revision 2 runs the same pod template/);
  });
});

describe("PATCH validation: 400 naming the problem, nothing changed", () => {
  let sa: Standalone;
  // room for exactly 3 one-port pods: no room for a surge pod
  before(async () => {
    sa = await start({ min: base + 90, max: base + 92 }, "tight");
  });
  after(() => sa?.close());

  async function snapshot() {
    const d = await sa.store.get("/domeos/deployments/default/tight");
    const h = await sa.store.list("/domeos/revisions/default/tight/");
    const pods = (await podsOf(sa, "tight")).map((p) => p.metadata.name).sort();
    return { mod: d?.modRevision, history: h.kvs.length, pods };
  }

  test("unknown field, bad values, server fields, renames, no room for the surge pod", {
    timeout: 120_000,
  }, async () => {
    const c = await api(sa, "POST", "", {
      name: "tight",
      command: ["node", app],
      replicas: 3,
      ports: 1,
      env: { VERSION: "v1" },
    });
    assert.equal(c.status, 201, c.msg);
    await rolloutPhase(sa, "tight", "Complete");
    const before = await snapshot();
    const cases: [unknown, RegExp][] = [
      [{ envv: { A: "1" } }, /unknown field "envv"/],
      [
        { replicas: -1, strategy: { maxSurge: 0, maxUnavailable: 0 } },
        /replicas -1 must be an integer from 0 to 1000; strategy: maxSurge and maxUnavailable cannot both be 0/,
      ],
      [{ strategy: { maxSurge: "1" } }, /strategy\.maxSurge "1" must be a number of pods/],
      [{ progressDeadlineSeconds: 0 }, /progressDeadlineSeconds 0 must be an integer from 1/],
      [{ env: { NEED_PORTS: "3" } }, /env NEED_PORTS is set by the server/],
      [{ name: "other" }, /name cannot be changed \("tight" -> "other"\)/],
      [{ revision: 9 }, /revision is set by the server/],
      [{ command: [] }, /command must be a non-empty array/],
      [
        { env: { VERSION: "v2" } },
        /ports: deployment default\/tight needs 4 ports \(4 replicas x 1 ports on this host\), range \d+-\d+ has 3; a rollout runs 1 surge pod beside the 3 old ones/,
      ],
    ];
    for (const [body, msg] of cases) {
      const r = await api(sa, "PATCH", "/default/tight", body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.msg}`);
      assert.match(r.msg, msg);
      assert.deepEqual(await snapshot(), before, `${JSON.stringify(body)} changed nothing`);
    }
    // without a surge pod (one unavailable at a time instead) it fits
    const watch = await watchReady(sa, "tight");
    const u = await api(sa, "PATCH", "/default/tight", {
      env: { VERSION: "v2" },
      strategy: { maxSurge: 0, maxUnavailable: 1 },
    });
    assert.equal(u.status, 200, u.msg);
    await rolloutPhase(sa, "tight", "Complete");
    await watch.close();
    assert.ok(watch.seen.min >= 2, `Ready pods fell to ${watch.seen.min} (maxUnavailable 1)`);
    assert.deepEqual(
      (await replies(sa, "tight")).map((x) => x.split(" ")[0]),
      ["v2", "v2", "v2"],
    );
  });
});

describe("deploy update / history / rollback / status (CLI)", () => {
  let sa: Standalone;
  before(async () => {
    sa = await start({ min: base + 60, max: base + 79 }, "cli");
  });
  after(() => sa?.close());

  const cli = (...args: string[]) => runDeployCli(args, sa.url, sa.adminToken, { USER: "alice" });

  test("update --env --wait, history, status, rollback --to-revision, a failing update --wait", {
    timeout: 180_000,
  }, async () => {
    const c = await cli(
      "create",
      "cw",
      "--command",
      `node ${app}`,
      "--replicas",
      "2",
      "--env",
      "VERSION=v1",
    );
    assert.equal(c.code, 0, c.err);
    const u = await cli("update", "cw", "--env", "VERSION=v2", "--env", "EXTRA=1", "--wait");
    assert.equal(u.code, 0, u.err);
    assert.match(u.out, /deployment default\/cw updated: revision 2 rolling out/);
    assert.match(u.out, /revision 2 Complete: 2\/2 updated, 2 ready, 2 available, 0 old pods left/);
    assert.deepEqual(
      (await replies(sa, "cw")).map((x) => x.split(" ")[0]),
      ["v2", "v2"],
    );
    const e = await cli("update", "cw", "--env", "EXTRA-", "--set", "strategy.maxSurge=2");
    assert.equal(e.code, 0, e.err);
    const s = await cli("status", "cw");
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /Rollout: +revision 3 (Progressing|Complete)/);
    const d = (
      await api<{ env: Record<string, string>; strategy: unknown }>(sa, "GET", "/default/cw")
    ).result;
    assert.deepEqual(d.env, { VERSION: "v2" });
    assert.deepEqual(d.strategy, { maxSurge: 2, maxUnavailable: 0 });
    const h = await cli("history", "cw");
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /REVISION +AGE +BY +CAUSE/);
    assert.match(h.out, /\n1 +\S+ +alice +create /);
    assert.match(h.out, /\n2 +\S+ +alice +update: env /);
    assert.match(h.out, /\n3 \* +\S+ +alice +update: env /);
    const one = await cli("history", "cw", "--revision", "1", "-o", "json");
    assert.equal(JSON.parse(one.out).spec.env.VERSION, "v1");
    const bad = await cli("update", "cw", "--set", "bogus=1");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /HTTP 400: .*unknown field "bogus"/);
    const r = await cli("rollback", "cw", "--to-revision", "1", "--wait");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rolled back to revision 1: revision 4 rolling out/);
    assert.deepEqual(
      (await replies(sa, "cw")).map((x) => x.split(" ")[0]),
      ["v1", "v1"],
    );
    const pods = await cli("status", "cw");
    assert.match(pods.out, /REVISION/);
    assert.equal(pods.out.match(/ 4 +- *\n/g)?.length, 2, pods.out);
    const f = await cli("update", "cw", "--env", "CRASH=3", "--wait");
    assert.equal(f.code, 1, f.out);
    assert.match(f.out, /revision 5 Failed: .*crash-looping: exit code 3/);
  });
});
