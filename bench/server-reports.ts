// domeos-server against real etcd:
//   1. raw baseline: 256 concurrent etcd puts of 3-5 KB pod objects (the
//      etcd3 client, unconditional put), for --seconds;
//   2. reports: 256 concurrent agents PUTting AUTO_PORT annotations to their
//      own 3-5 KB pod through a domeos-server child process (authenticated,
//      validated, merged with compare-and-swap), for --seconds; reports/s,
//      p50/p99, ratio to (1); every pod checked afterwards for its last
//      acknowledged ports;
//   3. port ledger: 200 pods of one host asking for 2 ports at once, --rounds
//      times (a fresh host each round): allocations/s, duplicates.
//
//   npm run build && node dist/bench/server-reports.js [--seconds 10] [--clients 256] [--pairs 3] [--rounds 3]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mintPodToken } from "../src/server/auth/pod-token.js";
import { EtcdStore } from "../src/store/etcd.js";
import { podKey } from "../src/store/store.js";
import { EtcdServer } from "../test/support/etcd.js";
import { freePort } from "../test/support/ports.js";

const SECRET = "bench-secret-0123456789abcdef0123456789";
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    clients: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    pairs: { type: "string", default: "3" },
    /** Offered rate of the open-loop phase (reports/s, all clients together; 0: skip it). */
    rate: { type: "string", default: "2000" },
    /** Write a V8 CPU profile of the server child process into this directory. */
    profile: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const ROUNDS = Number(args.rounds);
const PAIRS = Number(args.pairs);
const RATE = Number(args.rate);

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** CPU ms per operation of the server, etcd and this process (the load generator) over a phase. */
function cpuMeter(pids: { server?: number; etcd?: number }) {
  const t0 = { s: cpuMs(pids.server), e: cpuMs(pids.etcd), b: cpuMs(process.pid) };
  return (ops: number) => {
    const per = (a: number, b: number) => ((b - a) / Math.max(1, ops)).toFixed(2);
    return `server ${per(t0.s, cpuMs(pids.server))}, etcd ${per(t0.e, cpuMs(pids.etcd))}, load generator ${per(t0.b, cpuMs(process.pid))}`;
  };
}

/** A Kubernetes-shaped pod of 3-5 KB. */
function podJson(ns: string, name: string, host: string, size: number): string {
  const env: { name: string; value: string }[] = [];
  const pod = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${name}`,
      labels: { deployName: "bench" },
      annotations: { deployName: "bench", accessType: "DIY" },
    },
    spec: {
      hostNetwork: true,
      containers: [{ name: "app", image: "registry.example/app:1", env }],
    },
    status: { phase: "Running", hostIP: host, podIP: host },
  };
  let i = 0;
  while (JSON.stringify(pod).length < size) env.push({ name: `VAR_${i++}`, value: "v".repeat(40) });
  return JSON.stringify(pod);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function rawPuts(store: EtcdStore, values: string[]): Promise<{ rate: number; p99: number }> {
  const lat: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    values.map(async (v, i) => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          await store.client.put(`/bench/raw/${i}`).value(v);
          n++;
        } catch {
          // a deadline under load: counted as not done, like a failed report
        }
        lat.push(performance.now() - t);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { rate: n / SECONDS, p99: percentile(lat, 99) };
}

async function startServer(etcd: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "bench-server-"));
  const child = spawn(
    process.execPath,
    [
      ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${args.profile}`] : []),
      "dist/src/server/main.js",
      `--listen=127.0.0.1:${port}`,
      `--etcd=${etcd.replace("http://", "")}`,
      `--data-dir=${dataDir}`,
      `--secret=${SECRET}`,
      "--admin-token=bench",
      "--log-level=warn",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { child, url };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not start");
}

// A fresh keep-alive pool per phase: sockets idle across a phase boundary
// may be closed by the server (keepAliveTimeout) and would fail on reuse.
let agent = new Agent({ keepAlive: true, maxSockets: 1024 });
function newPhase(): void {
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 1024 });
}

function call(
  url: string,
  method: string,
  body: string,
  token: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", (err) => resolve({ status: 0, text: String(err) }));
    req.end(body);
  });
}

async function reports(url: string, pods: string[]) {
  const lat: number[] = [];
  const last = new Map<string, string>();
  /** Values sent after the pod's last acknowledged one whose request failed (may or may not be stored). */
  const maybe = new Map<string, Set<string>>();
  let n = 0;
  let failed = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    pods.map(async (pod) => {
      const token = mintPodToken(SECRET, "default", "default", pod);
      const target = `${url}/api/agent/pod/default/default/${pod}/annotation`;
      while (Date.now() < end) {
        const p0 = String(20000 + Math.floor(Math.random() * 1000));
        const body = JSON.stringify({
          AUTO_PORT0: p0,
          AUTO_PORT1: String(20000 + Math.floor(Math.random() * 1000)),
        });
        const t = performance.now();
        const r = await call(target, "PUT", body, token);
        lat.push(performance.now() - t);
        if (r.status === 200 && JSON.parse(r.text).resultCode === 200) {
          n++;
          last.set(pod, p0);
          maybe.delete(pod);
        } else {
          failed++;
          if (!maybe.has(pod)) maybe.set(pod, new Set());
          maybe.get(pod)!.add(p0);
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return {
    rate: n / SECONDS,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    failed,
    last,
    maybe,
  };
}

interface Sent {
  p0: string;
  sentAt: number;
  doneAt: number;
  ok: boolean;
}

/**
 * Open loop: every client sends to its own pod on a fixed schedule (together
 * RATE reports/s, start times staggered), whether or not its previous report
 * has been answered. Latency counts from the scheduled send time, so a
 * server that falls behind shows up as latency, not as a lower offered rate.
 */
async function openLoop(url: string, pods: string[]) {
  const interval = (1000 * pods.length) / RATE; // ms between one client's reports
  const lat: number[] = [];
  const sent = new Map<string, Sent[]>();
  let ok = 0;
  let okInWindow = 0;
  let failed = 0;
  let late = 0;
  const t0 = performance.now() + 50;
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    pods.map(async (pod, c) => {
      const token = mintPodToken(SECRET, "default", "default", pod);
      const target = `${url}/api/agent/pod/default/default/${pod}/annotation`;
      const mine: Sent[] = [];
      sent.set(pod, mine);
      const inflight: Promise<void>[] = [];
      for (let k = 0; ; k++) {
        const at = t0 + (c / pods.length) * interval + k * interval;
        if (at >= end) break;
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -5) late++;
        // Unique per pod within the phase (< 1000 reports per pod).
        const p0 = String(20000 + (k % 1000));
        const body = JSON.stringify({
          AUTO_PORT0: p0,
          AUTO_PORT1: String(20000 + Math.floor(Math.random() * 1000)),
        });
        const rec: Sent = { p0, sentAt: performance.now(), doneAt: 0, ok: false };
        mine.push(rec);
        inflight.push(
          call(target, "PUT", body, token).then((r) => {
            rec.doneAt = performance.now();
            lat.push(rec.doneAt - at);
            rec.ok = r.status === 200 && JSON.parse(r.text).resultCode === 200;
            if (rec.ok) {
              ok++;
              if (rec.doneAt <= end) okInWindow++;
            } else failed++;
          }),
        );
      }
      await Promise.all(inflight);
    }),
  );
  const sentCount = [...sent.values()].reduce((a, xs) => a + xs.length, 0);
  lat.sort((a, b) => a - b);
  return {
    offered: sentCount / SECONDS,
    /** Acknowledged within the phase's window (a server that falls behind answers later). */
    rate: okInWindow / SECONDS,
    ok,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? Number.NaN,
    failed,
    late,
    sent,
  };
}

/**
 * Lost updates after an open-loop phase. Requests of one pod may overlap, so
 * "last acknowledged" is not an order; what must hold: the stored value
 * comes from a request that had not finished when the newest acknowledged
 * request was sent (an older finished one would mean the acknowledged write
 * was overwritten by an earlier one = lost).
 */
async function lostInOpenLoop(store: EtcdStore, sent: Map<string, Sent[]>): Promise<number> {
  let lost = 0;
  for (const [pod, reqs] of sent) {
    const acked = reqs.filter((r) => r.ok);
    if (acked.length === 0) continue;
    const newest = acked.reduce((a, b) => (b.sentAt > a.sentAt ? b : a));
    const kv = await store.get(podKey("default", pod));
    const stored = JSON.parse(kv!.value).metadata.annotations.AUTO_PORT0;
    const from = reqs.find((r) => r.p0 === stored);
    if (!from || from.doneAt < newest.sentAt) lost++;
  }
  return lost;
}

async function allocations(url: string, store: EtcdStore, round: number) {
  const host = `10.200.0.${round + 1}`;
  const pods = Array.from({ length: 200 }, (_, i) => `alloc-${round}-${i}`);
  await Promise.all(
    pods.map((p) => store.put(podKey("default", p), podJson("default", p, host, 3000))),
  );
  const t = performance.now();
  const rs = await Promise.all(
    pods.map((p) =>
      call(
        `${url}/api/agent/pod/default/default/${p}/ports`,
        "POST",
        '{"count":2}',
        mintPodToken(SECRET, "default", "default", p),
      ),
    ),
  );
  const ms = performance.now() - t;
  const ports = rs.flatMap((r) =>
    r.status === 200 ? (JSON.parse(r.text).result.ports as number[]) : [],
  );
  const failed = rs.filter((r) => r.status !== 200).length;
  return {
    ms,
    perSec: (pods.length * 1000) / ms,
    ports: ports.length,
    dups: ports.length - new Set(ports).size,
    failed,
  };
}

async function main() {
  const etcd = new EtcdServer();
  await etcd.start();
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 10_000 });
  let server: ChildProcess | null = null;
  try {
    const pods = Array.from({ length: CLIENTS }, (_, i) => `bench-${i}`);
    const values = pods.map((p) =>
      podJson("default", p, "10.100.0.1", 3000 + Math.floor(Math.random() * 2000)),
    );
    await Promise.all(pods.map((p, i) => store.put(podKey("default", p), values[i]!)));
    const s = await startServer(etcd.endpoint);
    server = s.child;
    // Warm-up: connections, JIT, caches on both sides.
    await Promise.all(
      pods.map((p) =>
        call(
          `${s.url}/api/agent/pod/default/default/${p}/annotation`,
          "PUT",
          '{"AUTO_PORT0":"20000"}',
          mintPodToken(SECRET, "default", "default", p),
        ),
      ),
    );
    // Interleaved pairs (raw, reports): the shared machine's speed drifts a
    // lot, so each ratio compares neighbours; the medians are reported.
    const raws: Awaited<ReturnType<typeof rawPuts>>[] = [];
    const reps: Awaited<ReturnType<typeof reports>>[] = [];
    let lost = 0;
    const pids = {
      server: s.child.pid,
      etcd: (etcd as unknown as { proc: ChildProcess | null }).proc?.pid,
    };
    const cpu: string[] = [];
    for (let i = 0; i < PAIRS; i++) {
      let meter = cpuMeter(pids);
      const raw = await rawPuts(store, values);
      raws.push(raw);
      cpu.push(`raw put pair ${i + 1}: ${meter(raw.rate * SECONDS)}`);
      newPhase();
      meter = cpuMeter(pids);
      const rep = await reports(s.url, pods);
      cpu.push(`closed-loop reports pair ${i + 1}: ${meter(rep.rate * SECONDS)}`);
      reps.push(rep);
      for (const [pod, p0] of rep.last) {
        const kv = await store.get(podKey("default", pod));
        const stored = JSON.parse(kv!.value).metadata.annotations.AUTO_PORT0;
        if (stored !== p0 && !rep.maybe.get(pod)?.has(stored)) lost++;
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const raw = { rate: med(raws.map((r) => r.rate)), p99: med(raws.map((r) => r.p99)) };
    const rep = {
      rate: med(reps.map((r) => r.rate)),
      p50: med(reps.map((r) => r.p50)),
      p99: med(reps.map((r) => r.p99)),
      failed: reps.reduce((a, r) => a + r.failed, 0),
    };
    let open: Awaited<ReturnType<typeof openLoop>> | null = null;
    let openLost = 0;
    if (RATE > 0) {
      newPhase();
      const meter = cpuMeter(pids);
      open = await openLoop(s.url, pods);
      cpu.push(`open-loop reports: ${meter(open.ok)}`);
      openLost = await lostInOpenLoop(store, open.sent);
    }
    const pairRatios = reps.map((r, i) => (100 * r.rate) / raws[i]!.rate);
    const ratios = pairRatios.map((x) => `${x.toFixed(0)}%`);
    const allocs = [];
    for (let r = 0; r < ROUNDS; r++) {
      newPhase();
      allocs.push(await allocations(s.url, store, r));
    }
    const out = [
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")} at the end (shared with other jobs)`,
      "",
      `| measurement (${CLIENTS} concurrent clients, ${PAIRS} interleaved pairs of ${SECONDS} s; medians) | rate | p50 | p99 |`,
      "| --- | --- | --- | --- |",
      `| raw etcd put loop (etcd3 client, 3-5 KB values) | ${raw.rate.toFixed(0)}/s | | ${raw.p99.toFixed(1)} ms |`,
      `| annotation reports through domeos-server (auth, validation, CAS merge into 3-5 KB pods) | ${rep.rate.toFixed(0)}/s | ${rep.p50.toFixed(1)} ms | ${rep.p99.toFixed(1)} ms |`,
      `| **ratio reports / raw puts** (median of the per-pair ratios ${ratios.join(", ")}) | **${med(pairRatios).toFixed(0)}%** | | |`,
      "",
      `Per pair, raw puts/s: ${raws.map((r) => r.rate.toFixed(0)).join(", ")}; reports/s: ${reps.map((r) => r.rate.toFixed(0)).join(", ")}.`,
      "",
      `Reports failed (HTTP 503 when etcd calls hit their 3 s deadline; the agent retries): ${rep.failed}. Pods whose stored AUTO_PORT0 is neither the last acknowledged value nor a later failed attempt (= a lost update): ${lost}.`,
      "",
      ...(open
        ? [
            `Open loop (${CLIENTS} clients, each its own pod, together offering ${RATE} reports/s on a fixed schedule for ${SECONDS} s; latency from the scheduled send time):`,
            "",
            "| offered | acknowledged within the window | p50 | p99 | max | acknowledged in all | failed | sends > 5 ms late (load generator) | lost updates |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            `| ${open.offered.toFixed(0)}/s | ${open.rate.toFixed(0)}/s | ${open.p50.toFixed(1)} ms | ${open.p99.toFixed(1)} ms | ${open.max.toFixed(1)} ms | ${open.ok} | ${open.failed} | ${open.late} | ${openLost} |`,
            "",
          ]
        : []),
      `CPU ms per operation (from /proc): ${cpu.join("; ")}.`,
      "",
      "| port ledger round (200 pods of one host, 2 ports each, all at once) | wall | allocations/s | ports | duplicates | failed |",
      "| --- | --- | --- | --- | --- | --- |",
      ...allocs.map(
        (a, i) =>
          `| ${i + 1} | ${a.ms.toFixed(0)} ms | ${a.perSec.toFixed(0)} | ${a.ports} | ${a.dups} | ${a.failed} |`,
      ),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    server?.kill("SIGTERM");
    await store.close();
    await etcd.destroy();
    agent.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
