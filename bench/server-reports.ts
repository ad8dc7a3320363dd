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
import { mkdtempSync } from "node:fs";
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
    /** Write a V8 CPU profile of the server child process into this directory. */
    profile: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const ROUNDS = Number(args.rounds);
const PAIRS = Number(args.pairs);

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
    for (let i = 0; i < PAIRS; i++) {
      raws.push(await rawPuts(store, values));
      newPhase();
      const rep = await reports(s.url, pods);
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
