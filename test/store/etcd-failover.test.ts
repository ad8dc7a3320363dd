// Endpoint failover on a real 3-member etcd cluster (loopback ports, one
// process per member): while domeos-server takes agent reports and a confd
// etcdv3 watch follows the pods, the member both are pinned to is frozen
// (SIGSTOP for 20 s: connections stay open, nothing answers, as with dropped
// packets) or killed (SIGKILL, restarted 20 s later). What must hold:
// - nothing crashes, no report fails after the first 3 s;
// - report p99 from 3 s into the outage to its end <= 2x the healthy p99
//   (a floor of 50 ms for the healthy p99: below it the machine's jitter
//   decides; and at least 500 ms: the load of a shared machine changes
//   between the windows, a stuck report takes seconds);
// - from 3 s into the outage confd sees changes with a median latency
//   within 2x its healthy median (floor 100 ms), none slower than 3x its
//   healthy maximum (floor 1 s: a blind watch takes seconds), and its watch
//   never reports a lost connection (it resumes on another member from the
//   next revision);
// - the member comes back and serves without errors; the client marks it
//   healthy again.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createBackend } from "../../src/confd/backends/index.js";
import type { StoreMirror } from "../../src/confd/backends/store-mirror.js";
import type { RunningServer } from "../../src/server/server.js";
import { EtcdStore } from "../../src/store/etcd.js";
import { podKey, StoreUnavailableError } from "../../src/store/store.js";
import { agentUrl, bearer, podToken, putPod, startTestServer } from "../server/helpers.js";
import { EtcdCluster, type EtcdMember } from "../support/etcd.js";
import { eventually, recorder } from "./contract.js";

const OUTAGE_MS = 20_000;
const SETTLE_MS = 3_000;
const AGENTS = 8;

const cluster = new EtcdCluster(3);
before(async () => {
  await cluster.start();
});
after(async () => {
  await cluster.destroy();
});

interface Sample {
  at: number;
  ms: number;
  status: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] ?? Number.NaN;
};

/** AGENTS agents sending reports in a loop (each its own pod), until stop(). */
function reportLoad(url: string) {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: AGENTS }, async (_, i) => {
    const pod = `agent${i}`;
    const headers = {
      "content-type": "application/json",
      ...bearer(podToken("default", pod)),
    };
    for (let n = 0; running; n++) {
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(agentUrl(url, "default", pod, "annotation"), {
          method: "PUT",
          headers,
          // a changing allowed key: every report is a write (AUTO_PORT values are checked against the ledger)
          body: JSON.stringify({ SEQ: String(n) }),
        });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = -1;
      }
      samples.push({ at: Date.now(), ms: performance.now() - t0, status });
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Changes written through other members, timed until confd's mirror shows them. */
async function confdLatency(
  writer: EtcdStore,
  mirror: StoreMirror,
  key: string,
  seq: number,
): Promise<number> {
  const value = `v${seq}`;
  const t0 = performance.now();
  await writer.put(key, value);
  const deadline = Date.now() + 15_000;
  while (mirror.view().get(key) !== value) {
    if (Date.now() > deadline) throw new Error(`confd did not see ${key}=${value} in 15 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

describe("3-member etcd: one member frozen or killed for 20 s", () => {
  for (const mode of ["SIGSTOP", "SIGKILL"] as const) {
    test(`${mode}: reports and confd fail over, the member rejoins`, async () => {
      const target = cluster.members[0]!;
      // Everything pinned to member 0 first (the one that goes away).
      const store = new EtcdStore({ endpoints: cluster.endpoints });
      // Writes for the confd probe go through the other members only.
      const writer = new EtcdStore({ endpoints: cluster.endpoints.slice(1) });
      const logs: string[] = [];
      const confd = createBackend({
        backend: "etcdv3",
        nodes: cluster.endpoints,
        watch: true,
        log: (level, msg) => {
          if (level === "warning" || level === "error") logs.push(`${level}: ${msg}`);
        },
      }) as StoreMirror;
      let srv: RunningServer | null = null;
      const probeKey = `/registry/pods/confd-probe/${mode}`;
      try {
        for (let i = 0; i < AGENTS; i++) {
          await putPod(store, "default", `agent${i}`, { size: 4000 });
        }
        await confd.start(["/registry/pods"]);
        srv = await startTestServer(store, { extraAnnotationKeys: ["SEQ"] });
        const load = reportLoad(srv.url);
        const confdHealthy: number[] = [];
        let seq = 0;
        // Warm-up (first requests, JIT): not part of the healthy baseline.
        const warmUntil = Date.now() + 2000;
        while (Date.now() < warmUntil) await confdLatency(writer, confd, probeKey, seq++);
        const healthyFrom = Date.now();
        const healthyUntil = Date.now() + 5000;
        while (Date.now() < healthyUntil) {
          confdHealthy.push(await confdLatency(writer, confd, probeKey, seq++));
          await new Promise((r) => setTimeout(r, 100));
        }
        const stopAt = Date.now();
        if (mode === "SIGSTOP") target.signal("SIGSTOP");
        else await target.kill();
        const confdOutage: { at: number; ms: number }[] = [];
        while (Date.now() < stopAt + OUTAGE_MS) {
          const started = Date.now();
          let ms: number;
          try {
            ms = await confdLatency(writer, confd, probeKey, seq++);
          } catch (err) {
            // A write forwarded to a frozen leader before the others elect a
            // new one is lost by etcd and waits out its deadline: allowed in
            // the first 3 s only.
            if (started < stopAt + SETTLE_MS) continue;
            throw err;
          }
          confdOutage.push({ at: Date.now(), ms });
          await new Promise((r) => setTimeout(r, 100));
        }
        const resumeAt = Date.now();
        if (mode === "SIGSTOP") target.signal("SIGCONT");
        else await target.start();
        await target.healthy(30_000);
        // The member serves again: a client on it alone reads and writes.
        const alone = new EtcdStore({ endpoints: [target.endpoint] });
        try {
          assert.equal((await alone.put(`${probeKey}-alone`, "x")).ok, true);
          assert.equal((await alone.get(`${probeKey}-alone`))?.value, "x");
        } finally {
          await alone.close();
        }
        // ... and the server's client marks it healthy again (background probe).
        const deadline = Date.now() + 30_000;
        while (!store.health()[0]!.healthy && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(store.health()[0]!.healthy, true, JSON.stringify(store.health()));
        const afterUntil = Date.now() + 2000;
        while (Date.now() < afterUntil) {
          confdOutage.push({
            at: Date.now(),
            ms: await confdLatency(writer, confd, probeKey, seq++),
          });
        }
        await load.stop();

        const healthy = load.samples.filter((s) => s.at - s.ms >= healthyFrom && s.at < stopAt);
        const outage = load.samples.filter(
          (s) => s.at - s.ms >= stopAt + SETTLE_MS && s.at <= resumeAt,
        );
        const failedLate = load.samples.filter(
          (s) => s.status !== 200 && s.at - s.ms >= stopAt + SETTLE_MS,
        );
        const failedEarly = load.samples.filter((s) => s.status !== 200).length - failedLate.length;
        const base = Math.max(50, p99(healthy.map((s) => s.ms)));
        const during = p99(outage.map((s) => s.ms));
        const confdDuring = confdOutage
          .filter((c) => c.at - c.ms >= stopAt + SETTLE_MS)
          .map((c) => c.ms);
        const confdMedian = Math.max(100, median(confdHealthy));
        // One sample can take a scheduler hiccup on a loaded machine; a
        // blind watch (the old failure) takes seconds.
        const confdCeiling = Math.max(1000, 3 * Math.max(...confdHealthy));
        const summary =
          `${mode}: healthy report p99 ${p99(healthy.map((s) => s.ms)).toFixed(1)} ms (${healthy.length}), ` +
          `outage p99 ${during.toFixed(1)} ms (${outage.length}); failed ${failedEarly} in the first 3 s, ${failedLate.length} after; ` +
          `confd healthy median/max ${median(confdHealthy).toFixed(0)}/${Math.max(...confdHealthy).toFixed(0)} ms, ` +
          `outage median/max ${median(confdDuring).toFixed(0)}/${Math.max(...confdDuring).toFixed(0)} ms; ` +
          `client ${JSON.stringify(store.client.stats)}`;
        console.log(summary);
        assert.equal(failedLate.length, 0, `reports failed after the first 3 s: ${summary}`);
        assert.ok(outage.length > 100, summary);
        // 2x the healthy p99, and never below 500 ms: on a shared machine the
        // load of the 20 s outage window is not the healthy window's (a full
        // CI run saw 112 -> 303 ms with nothing wrong); a report pinned to the
        // lost member (the failure this catches) waits seconds for a deadline.
        const reportCeiling = Math.max(2 * base, 500);
        assert.ok(during <= reportCeiling, `report p99 during the outage: ${summary}`);
        assert.ok(median(confdDuring) <= 2 * confdMedian, `confd median latency: ${summary}`);
        assert.ok(Math.max(...confdDuring) <= confdCeiling, `confd latency ceiling: ${summary}`);
        assert.deepEqual(logs, [], "confd's watch never lost its store");
        assert.ok(store.client.stats.failovers >= 1, summary);
        if (mode === "SIGSTOP") assert.ok(store.client.stats.keepaliveTimeouts >= 1, summary);
        // What an operator sees on the server's /metrics (docs/store.md).
        const scraped = await (await fetch(`${srv.url}/metrics`)).text();
        const metric = (name: string, labels: string) =>
          Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(scraped)?.[1]);
        const cl = 'cluster="default"';
        assert.ok(metric("domeos_etcd_failovers_total", cl) >= 1, scraped);
        assert.ok(metric("domeos_etcd_retried_calls_total", cl) >= 0, scraped);
        if (mode === "SIGSTOP") {
          assert.ok(metric("domeos_etcd_keepalive_timeouts_total", cl) >= 1, scraped);
        }
        const ep = `${cl},endpoint="${target.endpoint}"`;
        assert.equal(metric("domeos_etcd_endpoint_healthy", ep), 1, "member back: healthy");
        assert.ok(metric("domeos_etcd_endpoint_failures", ep) >= 1, scraped);
        // The reports landed: each pod carries its agent's SEQ annotation.
        const kv = await store.get(podKey("default", "agent0"));
        assert.ok(kv?.value.includes('"SEQ"'));
      } finally {
        try {
          target.signal("SIGCONT");
        } catch {
          // not running (killed)
        }
        await srv?.close();
        await confd.close();
        await writer.close();
        await store.close();
      }
    });
  }

  test("a member cut off from the others (both frozen) ends its watch instead of serving it blind", async () => {
    // The member still answers pings; without a leader it can apply no
    // change. Watches require a leader (etcd's "hasleader"): it cancels them
    // with "no leader", the others do not answer, so the watch ends with
    // StoreUnavailableError (confd shows it is blind and re-lists later).
    const [lone, ...others] = cluster.members as [EtcdMember, EtcdMember, EtcdMember];
    for (const m of cluster.members) await m.healthy(30_000);
    const store = new EtcdStore({ endpoints: cluster.endpoints });
    const rec = recorder();
    try {
      const first = await store.put("/lone/k", "1");
      await store.watch("/lone/", first.revision, rec.handlers);
      await eventually(() => rec.batches.includes(first.revision), "the watch on the first member");
      assert.equal(store.health()[0]!.pinned, true, JSON.stringify(store.health()));
      for (const m of others) m.signal("SIGSTOP");
      try {
        await eventually(() => rec.errors.length > 0, "the watch ends", 60_000);
      } finally {
        for (const m of others) m.signal("SIGCONT");
      }
      assert.ok(rec.errors[0] instanceof StoreUnavailableError, String(rec.errors[0]));
      assert.equal(rec.errors.length, 1);
      for (const m of [lone, ...others]) await m.healthy(30_000);
      // Once the members have a leader again, a watch from the next revision sees new writes.
      const again = recorder();
      await eventually(
        async () => (await store.put("/lone/k", "2").catch(() => null))?.ok === true,
        "writes again",
        30_000,
      );
      await store.watch("/lone/", first.revision + 1, again.handlers);
      const last = await store.put("/lone/k", "3");
      await eventually(() => again.batches.includes(last.revision), "the new watch");
      assert.deepEqual(again.errors, []);
    } finally {
      await store.close();
    }
  });

  test("a watch started while no member has a leader waits for the election (within its deadline)", async () => {
    for (const m of cluster.members) await m.healthy(30_000);
    const [lone, ...others] = cluster.members as [EtcdMember, EtcdMember, EtcdMember];
    const writer = new EtcdStore({ endpoints: [lone.endpoint] });
    const store = new EtcdStore({ endpoints: [lone.endpoint], callTimeoutMs: 20_000 });
    const rec = recorder();
    try {
      const first = await writer.put("/election/k", "0");
      for (const m of others) m.signal("SIGSTOP");
      let opening: Promise<unknown>;
      try {
        await eventually(async () => !(await hasLeader(lone)), "the lone member without a leader");
        opening = store.watch("/election/", first.revision, rec.handlers);
        // Refused at least once ("no leader") before the others come back.
        await eventually(() => store.health()[0]!.failures >= 1, "a refused watch", 20_000);
      } finally {
        for (const m of others) m.signal("SIGCONT");
      }
      await opening;
      await eventually(() => rec.batches.includes(first.revision), "the watch, once taken");
      assert.deepEqual(rec.errors, []);
    } finally {
      await writer.close();
      await store.close();
    }
  });

  test("the leader killed under a watch pinned to it: resumed on another member through the election, nothing lost", async () => {
    // During the election every member refuses a new watch ("no leader"):
    // the watch tries them again until one takes it (EtcdWatch.open).
    for (const m of cluster.members) await m.healthy(30_000);
    const leader = await leaderOf(cluster.members);
    const rest = cluster.members.filter((m) => m !== leader);
    const store = new EtcdStore({ endpoints: [leader.endpoint, ...rest.map((m) => m.endpoint)] });
    const writer = new EtcdStore({ endpoints: rest.map((m) => m.endpoint) });
    const rec = recorder();
    try {
      const first = await store.put("/leader/k", "0");
      await store.watch("/leader/", first.revision, rec.handlers);
      await eventually(() => rec.batches.includes(first.revision), "the watch on the leader");
      await leader.kill();
      const expected = [first.revision];
      for (let i = 1; i <= 5; i++) {
        let r: number | null = null;
        await eventually(
          async () => {
            r = (await writer.put(`/leader/k${i}`, String(i)).catch(() => null))?.revision ?? null;
            return r !== null;
          },
          "a write after the election",
          30_000,
        );
        expected.push(r!);
      }
      await eventually(
        () => rec.batches.length >= expected.length,
        "the writes on the watch",
        30_000,
      );
      assert.deepEqual(rec.errors, [], "the watch never ended");
      // A write retried after a lost answer may have landed twice: every revision once, in order.
      assert.deepEqual(
        rec.batches,
        [...new Set(rec.batches)].sort((a, b) => a - b),
      );
      for (const r of expected) assert.ok(rec.batches.includes(r), `revision ${r} delivered`);
      assert.ok(store.client.stats.watchResumes >= 1);
    } finally {
      await writer.close();
      await store.close();
      await leader.start();
    }
  });
});

/** The member the cluster's members agree is the leader (etcd's maintenance Status). */
async function leaderOf(members: EtcdMember[]): Promise<EtcdMember> {
  for (const m of members) {
    const res = await fetch(`${m.endpoint}/v3/maintenance/status`, { method: "POST", body: "{}" });
    const st = (await res.json()) as { header: { member_id: string }; leader: string };
    if (st.header.member_id === st.leader) return m;
  }
  throw new Error("no member is the leader");
}

/** Does the member see a leader (etcd's /health)? */
async function hasLeader(m: EtcdMember): Promise<boolean> {
  try {
    const res = await fetch(`${m.endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}
