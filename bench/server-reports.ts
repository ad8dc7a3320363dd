// domeos-server against real etcd:
//   1. raw baseline: 256 concurrent etcd puts of 3-5 KB pod objects (the
//      etcd3 client, unconditional put), for --seconds;
//   2. reports: 256 concurrent agents PUTting annotations to their own 3-5 KB
//      pod through a domeos-server child process (authenticated, validated,
//      ports checked against the ledger, merged with compare-and-swap), for
//      --seconds: the two AUTO_PORTs the ledger gave the pod and a changing
//      BENCH_SEQ (--allow-annotation); reports/s, p50/p99, ratio to (1);
//      every pod checked afterwards for its last acknowledged BENCH_SEQ;
//   3. port ledger: 200 pods of one host asking for 2 ports at once, --rounds
//      times (a fresh host each round): allocations/s, duplicates;
//   4. open loop (--rate, default 2000 reports/s): the same 256 clients
//      sending on a fixed schedule; achieved rate, p50/p99 from the
//      scheduled send time, lost updates; beside it, the same schedule of
//      raw etcd puts (the latency floor of this etcd at this rate);
//   --baseline DIR: a built checkout of another commit, measured phase by
//   phase in the same run (servers run one at a time).
//
//   npm run build && node dist/bench/server-reports.js [--seconds 10] [--clients 256] [--pairs 3] [--rounds 3] [--rate 2000] [--baseline DIR] [--node-flags="--flag ..."] [--profile DIR]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Etcd3 } from "etcd3";
import { mintInstanceToken, mintPodToken } from "../src/server/auth/pod-token.js";
import { EtcdClient } from "../src/store/etcd/client.js";
import { encodePutRequest } from "../src/store/etcd/codec.js";
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
    /** Write V8 CPU profiles of the server child processes into this directory (the baseline's into DIR/baseline). */
    profile: { type: "string" },
    /**
     * A checkout of an older commit, built (its dist/src/server/main.js is
     * run): measured in the same run, phase after phase with this build.
     */
    baseline: { type: "string" },
    /** Node flags for this build's server only (A/B against --baseline, e.g. the same directory). */
    "node-flags": { type: "string", default: "" },
    /** Load generator: "lean" (HTTP/1.1 over plain sockets) or "node" (node:http). */
    client: { type: "string", default: "lean" },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const ROUNDS = Number(args.rounds);
const PAIRS = Number(args.pairs);
const RATE = Number(args.rate);
const CLIENT = args.client;
if (CLIENT !== "lean" && CLIENT !== "node") throw new Error("--client must be lean or node");

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

/** Peak resident memory (VmHWM, MiB) of a live process, from /proc (Linux). */
function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU ms per operation of the server, etcd and this process (the load generator) over a phase. */
function cpuMeter(pids: { server?: number; etcd?: number }) {
  const t0 = { s: cpuMs(pids.server), e: cpuMs(pids.etcd), b: cpuMs(process.pid) };
  return (ops: number) => {
    const per = (a: number, b: number) => ((b - a) / Math.max(1, ops)).toFixed(2);
    const server = pids.server === undefined ? "" : `server ${per(t0.s, cpuMs(pids.server))}, `;
    return `${server}etcd ${per(t0.e, cpuMs(pids.etcd))}, load generator ${per(t0.b, cpuMs(process.pid))}`;
  };
}

/** Cumulative bucket counts of an etcd histogram, from its /metrics. */
async function etcdHistogram(endpoint: string, name: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  try {
    const text = await (await fetch(`${endpoint}/metrics`)).text();
    const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm");
    for (const m of text.matchAll(re)) {
      out.set(m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
    }
  } catch {
    // metrics are context only
  }
  return out;
}

/** "p50 <= x ms, p99 <= y ms (n)" of the observations between two histogram snapshots. */
function histogramDelta(a: Map<number, number>, b: Map<number, number>): string {
  const les = [...b.keys()].sort((x, y) => x - y);
  const n = (b.get(Number.POSITIVE_INFINITY) ?? 0) - (a.get(Number.POSITIVE_INFINITY) ?? 0);
  if (n <= 0) return "no samples";
  const q = (p: number) => {
    for (const le of les) {
      if ((b.get(le) ?? 0) - (a.get(le) ?? 0) >= p * n)
        return le === Number.POSITIVE_INFINITY
          ? "> max bucket"
          : `<= ${(le * 1000).toFixed(le < 0.01 ? 1 : 0)} ms`;
    }
    return "?";
  };
  return `p50 ${q(0.5)}, p99 ${q(0.99)}, max ${q(1)} (${n})`;
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

async function rawPuts(store: Etcd3, values: string[]): Promise<{ rate: number; p99: number }> {
  const lat: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    values.map(async (v, i) => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          await store.put(`/bench/raw/${i}`).value(v);
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

interface Build {
  /** An older server that knows only the name-bound pod tokens (the baseline). */
  legacyTokens: boolean;
  name: string;
  main: string;
  /** Where its server's CPU profiles go (with --profile). */
  profileDir: string;
  nodeFlags: string[];
}

async function startServer(
  etcd: string,
  build: Build,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "bench-server-"));
  const child = spawn(
    process.execPath,
    [
      ...build.nodeFlags,
      ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${build.profileDir}`] : []),
      build.main,
      `--listen=127.0.0.1:${port}`,
      `--etcd=${etcd.replace("http://", "")}`,
      `--data-dir=${dataDir}`,
      `--secret=${SECRET}`,
      "--admin-token=bench",
      "--log-level=warn",
      // a changing key of every report: AUTO_PORT values stay the pod's ledger ports
      "--allow-annotation=BENCH_SEQ",
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
  closeLean();
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 1024 });
}

function call(
  url: string,
  method: string,
  body: string,
  token: string,
): Promise<{ status: number; text: string }> {
  return CLIENT === "lean"
    ? leanCall(url, method, body, token)
    : nodeCall(url, method, body, token);
}

function nodeCall(
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

/*
 * The lean load generator (--client lean, the default): keep-alive HTTP/1.1
 * over plain sockets, one request at a time per connection, a request
 * written as one buffer, the answer framed by its Content-Length. The server
 * sees the same requests as from node:http (method, path, Host,
 * Content-Type, Content-Length, Authorization, keep-alive); only the load
 * generator's own CPU per request is lower (~0.3 ms with node:http), which
 * on a 2-core machine shared with etcd and the server is CPU the server
 * would otherwise not get.
 */
interface Pending {
  resolve(r: { status: number; text: string }): void;
}

class LeanConn {
  private buf: Buffer | null = null;
  private pending: Pending | null = null;
  readonly socket: Socket;
  dead = false;

  constructor(port: number, host: string) {
    this.socket = connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.on("data", (d: Buffer) => this.onData(d));
    const fail = (why: string) => {
      this.dead = true;
      const p = this.pending;
      this.pending = null;
      p?.resolve({ status: 0, text: why });
    };
    this.socket.on("error", (err) => fail(String(err)));
    this.socket.on("close", () => fail("connection closed"));
  }

  send(req: Buffer, p: Pending): void {
    this.pending = p;
    this.socket.write(req);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const head = this.buf.indexOf("\r\n\r\n");
    if (head < 0) return;
    const headers = this.buf.toString("latin1", 0, head);
    const m = /\r\ncontent-length: *(\d+)/i.exec(headers);
    const len = m ? Number(m[1]) : 0;
    if (this.buf.length < head + 4 + len) return;
    const status = Number(headers.slice(9, 12));
    const text = this.buf.toString("utf8", head + 4, head + 4 + len);
    this.buf = null;
    if (/\r\nconnection: *close/i.test(headers)) this.dead = true;
    const p = this.pending;
    this.pending = null;
    if (!this.dead) idle.push(this);
    else this.socket.destroy();
    p?.resolve({ status, text });
  }
}

let idle: LeanConn[] = [];
let conns: LeanConn[] = [];
const targets = new Map<string, { host: string; port: number; path: string }>();

function leanCall(
  url: string,
  method: string,
  body: string,
  token: string,
): Promise<{ status: number; text: string }> {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { host: u.hostname, port: Number(u.port), path: u.pathname };
    targets.set(url, t);
  }
  let c = idle.pop();
  while (c?.dead) c = idle.pop();
  if (!c) {
    c = new LeanConn(t.port, t.host);
    conns.push(c);
  }
  const req = Buffer.from(
    `${method} ${t.path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nAuthorization: Bearer ${token}\r\nConnection: keep-alive\r\n\r\n${body}`,
  );
  const conn = c;
  return new Promise((resolve) => conn.send(req, { resolve }));
}

function closeLean(): void {
  for (const c of conns) c.socket.destroy();
  conns = [];
  idle = [];
}

/** The credential a build accepts for a bench pod (uid-NAME, see podJson). */
function tokenOf(build: Build, pod: string): string {
  return build.legacyTokens
    ? mintPodToken(SECRET, "default", "default", pod)
    : mintInstanceToken(SECRET, "default", "default", pod, `uid-${pod}`);
}

/**
 * What the agents of a phase send: each pod reports the two ports the
 * ledger holds for it (reports are checked against the ledger) and a
 * sequence number, whose last acknowledged value finds lost updates.
 */
interface Agents {
  build: Build;
  held: Map<string, number[]>;
}

const reportBody = (a: Agents, pod: string, seq: string) => {
  const [p0, p1] = a.held.get(pod)!;
  return JSON.stringify({ AUTO_PORT0: String(p0), AUTO_PORT1: String(p1), BENCH_SEQ: seq });
};

async function reports(url: string, pods: string[], agents: Agents) {
  const lat: number[] = [];
  const last = new Map<string, string>();
  /** Values sent after the pod's last acknowledged one whose request failed (may or may not be stored). */
  const maybe = new Map<string, Set<string>>();
  let n = 0;
  let failed = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    pods.map(async (pod) => {
      const token = tokenOf(agents.build, pod);
      const target = `${url}/api/agent/pod/default/default/${pod}/annotation`;
      for (let k = 0; Date.now() < end; k++) {
        const p0 = String(k);
        const body = reportBody(agents, pod, p0);
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
 * Open loop: `clients` senders on a fixed schedule (together RATE requests/s,
 * start times staggered), each sending whether or not its previous request
 * has been answered. Latency counts from the scheduled send time, so a
 * target that falls behind shows up as latency, not as a lower offered rate.
 * `send(c, k)` makes client c's k-th request and says whether it succeeded.
 */
async function paced(clients: number, send: (c: number, k: number) => Promise<boolean>) {
  const interval = (1000 * clients) / RATE; // ms between one client's requests
  const lat: number[] = [];
  let sentCount = 0;
  let ok = 0;
  let okInWindow = 0;
  let failed = 0;
  let late = 0;
  const t0 = performance.now() + 50;
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const inflight: Promise<void>[] = [];
      for (let k = 0; ; k++) {
        const at = t0 + (c / clients) * interval + k * interval;
        if (at >= end) break;
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -5) late++;
        sentCount++;
        inflight.push(
          send(c, k).then(
            (good) => {
              const doneAt = performance.now();
              lat.push(doneAt - at);
              if (!good) return void failed++;
              ok++;
              if (doneAt <= end) okInWindow++;
            },
            () => {
              lat.push(performance.now() - at);
              failed++;
            },
          ),
        );
      }
      await Promise.all(inflight);
    }),
  );
  lat.sort((a, b) => a - b);
  return {
    offered: sentCount / SECONDS,
    /** Acknowledged within the phase's window (a target that falls behind answers later). */
    rate: okInWindow / SECONDS,
    ok,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? Number.NaN,
    failed,
    late,
  };
}

/** The open loop through domeos-server: every client reports to its own pod. */
async function openLoop(url: string, pods: string[], agents: Agents) {
  const sent = new Map<string, Sent[]>(pods.map((p) => [p, []]));
  const tokens = pods.map((p) => tokenOf(agents.build, p));
  const stats = await paced(pods.length, async (c, k) => {
    const pod = pods[c]!;
    // Unique per pod within the phase (< 1000 reports per pod).
    const p0 = String(k);
    const body = reportBody(agents, pod, p0);
    const rec: Sent = { p0, sentAt: performance.now(), doneAt: 0, ok: false };
    sent.get(pod)!.push(rec);
    const r = await call(
      `${url}/api/agent/pod/default/default/${pod}/annotation`,
      "PUT",
      body,
      tokens[c]!,
    );
    rec.doneAt = performance.now();
    rec.ok = r.status === 200 && JSON.parse(r.text).resultCode === 200;
    return rec.ok;
  });
  return { ...stats, sent };
}

/**
 * The same open loop straight into etcd, unconditional puts of the pods'
 * values, one request per write: with the etcd3 client (what the closed
 * raw loop uses), and with the lean HTTP/2 gRPC client the server uses
 * (src/store/etcd/client.ts), whose own CPU cost is far smaller on this
 * 2-core machine. What etcd gives single writes at this rate, same run.
 */
function rawOpenLoop(store: Etcd3, values: string[]) {
  return paced(values.length, async (c) => {
    await store.put(`/bench/raw/${c}`).value(values[c]!);
    return true;
  });
}

async function leanOpenLoop(endpoint: string, values: string[]) {
  const client = new EtcdClient({ endpoints: [endpoint], callTimeoutMs: 10_000 });
  const bodies = values.map((v, c) =>
    encodePutRequest(Buffer.from(`/bench/raw/${c}`), Buffer.from(v)),
  );
  try {
    return await paced(values.length, async (c) => {
      await client.call("/etcdserverpb.KV/Put", bodies[c]!, { what: "put" });
      return true;
    });
  } finally {
    client.close();
  }
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
    const stored = JSON.parse(kv!.value).metadata.annotations.BENCH_SEQ;
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
        mintInstanceToken(SECRET, "default", "default", p, `uid-${p}`),
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

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

const WAL_FSYNC = "etcd_disk_wal_fsync_duration_seconds";
const BACKEND_COMMIT = "etcd_disk_backend_commit_duration_seconds";

type Closed = Awaited<ReturnType<typeof reports>>;
type Open = Awaited<ReturnType<typeof openLoop>>;

interface PerBuild {
  build: Build;
  closed: Closed[];
  open: (Open & { lost: number; fsync: string })[];
  lost: number;
  cpu: string[];
  /** The server's peak RSS (MiB) per pair, after its closed and open loops. */
  peakRss: number[];
  /** Server CPU ms per report of each pair's closed loop. */
  serverCpu: number[];
  /** 1-minute load average at the end of each pair's closed loop. */
  load: number[];
}

async function main() {
  const etcd = new EtcdServer();
  await etcd.start();
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 10_000 });
  // The npm etcd3 client (a dev dependency): the raw-put floor and maintenance.
  const admin = new Etcd3({ hosts: etcd.endpoint });
  let server: ChildProcess | null = null;
  const etcdPid = (etcd as unknown as { proc: ChildProcess | null }).proc?.pid;
  const nodeFlags = args["node-flags"].split(" ").filter(Boolean);
  const builds: Build[] = [
    {
      name: nodeFlags.length ? `this build (node ${nodeFlags.join(" ")})` : "this build",
      main: "dist/src/server/main.js",
      profileDir: args.profile ?? "",
      legacyTokens: false,
      nodeFlags,
    },
  ];
  if (args.baseline) {
    builds.push({
      name: `baseline ${args.baseline}`,
      main: join(args.baseline, "dist/src/server/main.js"),
      profileDir: join(args.profile ?? "", "baseline"),
      // a baseline from before instance tokens knows only the name-bound ones
      legacyTokens: !readFileSync(
        join(args.baseline, "dist/src/server/auth/pod-token.js"),
        "utf8",
      ).includes("mintInstanceToken"),
      nodeFlags: [],
    });
  }
  const run = async <T>(
    build: Build,
    fn: (url: string, pid: number | undefined, agents: Agents) => Promise<T>,
  ) => {
    const s = await startServer(etcd.endpoint, build);
    server = s.child;
    try {
      // Warm-up: connections, JIT, caches on both sides. Each pod asks the
      // ledger for its 2 ports (the same ones for every build: the ledger is
      // in etcd, and asking again is idempotent), then reports them once.
      newPhase();
      const agents: Agents = { build, held: new Map() };
      await Promise.all(
        pods.map(async (p) => {
          // A 503 (the etcd deadline on a loaded machine) is retried, as an agent does.
          let r = { status: 0, text: "" };
          for (let attempt = 0; attempt < 5 && r.status !== 200; attempt++) {
            if (attempt > 0) await new Promise((res) => setTimeout(res, 500));
            r = await call(
              `${s.url}/api/agent/pod/default/default/${p}/ports`,
              "POST",
              '{"count":2}',
              tokenOf(build, p),
            );
            if (r.status !== 503) break;
          }
          if (r.status !== 200) throw new Error(`ports of ${p}: HTTP ${r.status} ${r.text}`);
          agents.held.set(p, JSON.parse(r.text).result.ports);
          await call(
            `${s.url}/api/agent/pod/default/default/${p}/annotation`,
            "PUT",
            reportBody(agents, p, "warm-up"),
            tokenOf(build, p),
          );
        }),
      );
      return await fn(s.url, s.child.pid, agents);
    } finally {
      await stopServer(s.child);
      server = null;
    }
  };
  const pods = Array.from({ length: CLIENTS }, (_, i) => `bench-${i}`);
  try {
    const values = pods.map((p) =>
      podJson("default", p, "10.100.0.1", 3000 + Math.floor(Math.random() * 2000)),
    );
    await Promise.all(pods.map((p, i) => store.put(podKey("default", p), values[i]!)));
    // Interleaved phases (raw, then each build's reports): the shared
    // machine's speed drifts a lot, so each ratio compares neighbours; the
    // medians are reported.
    const raws: Awaited<ReturnType<typeof rawPuts>>[] = [];
    const rawCpu: string[] = [];
    const rawOpens: Awaited<ReturnType<typeof rawOpenLoop>>[] = [];
    const leanOpens: Awaited<ReturnType<typeof rawOpenLoop>>[] = [];
    const per: PerBuild[] = builds.map((build) => ({
      build,
      closed: [],
      open: [],
      lost: 0,
      cpu: [],
      peakRss: [],
      serverCpu: [],
      load: [],
    }));
    for (let i = 0; i < PAIRS; i++) {
      // Each pair writes ~0.5 GB of revisions: compact them away and defragment
      // first, or a few pairs reach etcd's 2 GB quota; and every pair then
      // starts from the same small database (compaction alone leaves a long
      // free list that slowed the later pairs' commits).
      await store.compact(await store.revision());
      await admin.maintenance.defragment();
      const meter = cpuMeter({ etcd: etcdPid });
      const raw = await rawPuts(admin, values);
      raws.push(raw);
      rawCpu.push(`pair ${i + 1}: ${meter(raw.rate * SECONDS)}`);
      if (RATE > 0) {
        rawOpens.push(await rawOpenLoop(admin, values));
        leanOpens.push(await leanOpenLoop(etcd.endpoint, values));
      }
      // Alternate which build goes first: etcd's database grows through a pair,
      // so a fixed order would always hand the second build the bigger, slower one.
      for (const b of i % 2 === 0 ? per : [...per].reverse()) {
        await run(b.build, async (url, pid, agents) => {
          newPhase();
          let meter = cpuMeter({ server: pid, etcd: etcdPid });
          const server0 = cpuMs(pid);
          const rep = await reports(url, pods, agents);
          b.serverCpu.push((cpuMs(pid) - server0) / Math.max(1, rep.rate * SECONDS));
          b.load.push(loadavg()[0]!);
          b.cpu.push(`closed loop pair ${i + 1}: ${meter(rep.rate * SECONDS)}`);
          process.stderr.write(
            `pair ${i + 1}, ${b.build.name}: ${rep.rate.toFixed(0)} reports/s, p50 ${rep.p50.toFixed(1)} ms, p99 ${rep.p99.toFixed(1)} ms, server CPU ${b.serverCpu.at(-1)!.toFixed(2)} ms/report, load ${b.load.at(-1)!.toFixed(1)}\n`,
          );
          b.closed.push(rep);
          for (const [pod, p0] of rep.last) {
            const kv = await store.get(podKey("default", pod));
            const stored = JSON.parse(kv!.value).metadata.annotations.BENCH_SEQ;
            if (stored !== p0 && !rep.maybe.get(pod)?.has(stored)) b.lost++;
          }
          if (RATE > 0) {
            newPhase();
            meter = cpuMeter({ server: pid, etcd: etcdPid });
            const fsync0 = await etcdHistogram(etcd.endpoint, WAL_FSYNC);
            const commit0 = await etcdHistogram(etcd.endpoint, BACKEND_COMMIT);
            const open = await openLoop(url, pods, agents);
            const fsync = `WAL fsync ${histogramDelta(fsync0, await etcdHistogram(etcd.endpoint, WAL_FSYNC))}; backend commit ${histogramDelta(commit0, await etcdHistogram(etcd.endpoint, BACKEND_COMMIT))}`;
            b.cpu.push(`open loop pair ${i + 1}: ${meter(open.ok)}`);
            b.open.push({ ...open, lost: await lostInOpenLoop(store, open.sent), fsync });
          }
          b.peakRss.push(peakRssMiB(pid));
        });
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const raw = { rate: med(raws.map((r) => r.rate)), p99: med(raws.map((r) => r.p99)) };
    const allocs = await run(builds[0]!, async (url) => {
      const out = [];
      for (let r = 0; r < ROUNDS; r++) {
        newPhase();
        out.push(await allocations(url, store, r));
      }
      return out;
    });
    const closedRows: string[] = [];
    const rawRow = (what: string) => (o: Open | (typeof rawOpens)[number], i: number) =>
      `| raw etcd puts (${what}, one request per write, no server), pair ${i + 1} | ${o.offered.toFixed(0)}/s | ${o.rate.toFixed(0)}/s | ${o.p50.toFixed(1)} ms | ${o.p99.toFixed(1)} ms | ${o.max.toFixed(1)} ms | ${o.failed} | ${o.late} | | |`;
    const openRows = [
      ...rawOpens.map(rawRow("etcd3 client")),
      ...leanOpens.map(rawRow("lean gRPC client")),
    ];
    const notes: string[] = [];
    for (const b of per) {
      const pairRatios = b.closed.map((r, i) => (100 * r.rate) / raws[i]!.rate);
      closedRows.push(
        `| reports through domeos-server, ${b.build.name} (auth, validation, CAS merge into 3-5 KB pods) | ${med(b.closed.map((r) => r.rate)).toFixed(0)}/s | ${med(b.closed.map((r) => r.p50)).toFixed(1)} ms | ${med(b.closed.map((r) => r.p99)).toFixed(1)} ms | **${med(pairRatios).toFixed(0)}%** (pairs: ${pairRatios.map((x) => `${x.toFixed(0)}%`).join(", ")}) |`,
      );
      for (const [i, o] of b.open.entries()) {
        openRows.push(
          `| ${b.build.name}, pair ${i + 1} | ${o.offered.toFixed(0)}/s | ${o.rate.toFixed(0)}/s | ${o.p50.toFixed(1)} ms | ${o.p99.toFixed(1)} ms | ${o.max.toFixed(1)} ms | ${o.failed} | ${o.late} | ${o.lost} | ${o.fsync} |`,
        );
      }
      const failed = b.closed.reduce((a, r) => a + r.failed, 0);
      notes.push(
        `${b.build.name}: closed-loop reports/s per pair ${b.closed.map((r) => r.rate.toFixed(0)).join(", ")}; failed (HTTP 503 at the etcd deadline; the agent retries) ${failed}; lost updates ${b.lost}; server peak RSS per pair ${b.peakRss.map((m) => `${m.toFixed(0)} MiB`).join(", ")}. CPU ms per report: ${b.cpu.join("; ")}.`,
      );
    }
    const out = [
      ...(per.length === 2 ? abTable(per[0]!, per[1]!) : []),
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")} at the end (shared with other jobs)`,
      "",
      `Load generator: ${CLIENT === "lean" ? "HTTP/1.1 keep-alive over plain sockets (--client lean)" : "node:http with a keep-alive Agent (--client node)"}.`,
      "",
      `Closed loop: ${CLIENTS} clients, each PUTs to its own pod, waits for the answer, PUTs again (${PAIRS} interleaved rounds of ${SECONDS} s per phase; medians). Mean latency = ${CLIENTS} / rate (Little's law).`,
      "",
      "| measurement | rate | p50 | p99 | ratio to raw puts |",
      "| --- | --- | --- | --- | --- |",
      `| raw etcd put loop (etcd3 client, 3-5 KB values, ${CLIENTS} concurrent) | ${raw.rate.toFixed(0)}/s | | ${raw.p99.toFixed(1)} ms | |`,
      ...closedRows,
      "",
      `Raw puts/s per pair: ${raws.map((r) => r.rate.toFixed(0)).join(", ")}; CPU ms per put: ${rawCpu.join("; ")}.`,
      ...notes.map((n) => `\n${n}`),
      "",
      ...(RATE > 0
        ? [
            `Open loop: ${CLIENTS} clients, each its own pod, together offering ${RATE} reports/s on a fixed schedule for ${SECONDS} s; latency from the scheduled send time; "acknowledged" counts answers within the window.`,
            "",
            "| server | offered | acknowledged | p50 | p99 | max | failed | sends > 5 ms late (load generator) | lost updates | etcd disk meanwhile (etcd's histograms) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ...openRows,
            "",
          ]
        : []),
      "| port ledger round (200 pods of one host, 2 ports each, all at once) | wall | allocations/s | ports | duplicates | failed |",
      "| --- | --- | --- | --- | --- | --- |",
      ...allocs.map(
        (a, i) =>
          `| ${i + 1} | ${a.ms.toFixed(0)} ms | ${a.perSec.toFixed(0)} | ${a.ports} | ${a.dups} | ${a.failed} |`,
      ),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    if (server) await stopServer(server);
    admin.close();
    await store.close();
    await etcd.destroy();
    agent.destroy();
    closeLean();
  }
}

/**
 * This build against the baseline, pair by pair (the two ran back to back,
 * so they saw about the same machine): each pair's ratio, then the median
 * ratio and the range over the pairs. Ratios > 1 mean this build is higher.
 */
function abTable(cur: PerBuild, base: PerBuild): string[] {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const metrics: [string, (b: PerBuild, i: number) => number, string][] = [
    ["closed-loop reports/s", (b, i) => b.closed[i]!.rate, "higher is better"],
    ["p50 ms", (b, i) => b.closed[i]!.p50, "lower is better"],
    ["p99 ms", (b, i) => b.closed[i]!.p99, "lower is better"],
    ["server CPU ms per report", (b, i) => b.serverCpu[i]!, "lower is better"],
  ];
  const pairs = cur.closed.map((_, i) => i);
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const rows = metrics.map(([name, get, better]) => {
    const ratios = pairs.map((i) => get(cur, i) / get(base, i));
    return `| ${name} (${better}) | ${f(med(pairs.map((i) => get(cur, i))))} | ${f(med(pairs.map((i) => get(base, i))))} | **${med(ratios).toFixed(2)}** | ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)} | ${ratios.map((r) => r.toFixed(2)).join(", ")} |`;
  });
  return [
    `A/B, ${pairs.length} pairs (this build / baseline per pair; load average 1 min at the end of each closed loop: ${pairs.map((i) => `${cur.load[i]!.toFixed(1)}/${base.load[i]!.toFixed(1)}`).join(", ")})`,
    "",
    "| metric | this build (median) | baseline (median) | median of pair ratios | range | pair ratios |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ];
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
