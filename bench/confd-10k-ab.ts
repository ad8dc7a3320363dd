// A/B mode of bench/confd-10k.ts (--baseline DIR): this build's
// bin/domeos-confd against DIR's, on one etcd holding the same pods twice,
// once per build under its own confd -prefix (/a: this build, /b: the
// baseline), so a change wakes only the confd it is meant for and the two
// builds can be measured turn by turn under the same machine load:
//   1. -onetime: runs alternate A B, B A, ...; each pair gives a ratio;
//   2. watch: both confds watch, changes alternate between them (A's pod,
//      then B's same pod with the same new port, order swapped every
//      sample); change -> file per sample, ratio per sample pair, CPU per
//      change and peak RSS per process;
//   3. burst with -wait 100ms:1s: one build after the other (context).
// The 1-minute load average is recorded with every sample.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { EtcdStore } from "../src/store/etcd.js";
import { EtcdServer } from "../test/support/etcd.js";
import {
  CHILD_ENV,
  CONFD,
  changePort,
  countReloads,
  cpuSeconds,
  ETCDCTL,
  fmt,
  GOLDEN,
  load,
  makeConfdir,
  median,
  onetimeRun,
  peakRssMiB,
  quantile,
  readText,
  type Setup,
  shuffle,
  sleep,
  startConfd,
  stopConfd,
  timed,
  waitFile,
} from "./confd-harness.js";
import {
  expectedUpstream,
  type GeneratedPod,
  generatePods,
  rendered,
  rng,
  templateHeader,
} from "./confd-pods.js";

export interface AbOptions {
  /** A built checkout (its bin/domeos-confd and dist/ are run). */
  baseline: string;
  pods: number;
  samples: number;
  onetimeRuns: number;
  burst: number;
}

/** One build under test: its executable, confd directory, key space and own copy of the pods. */
interface Side {
  name: string;
  bin: string;
  setup: Setup;
  pods: GeneratedPod[];
  matching: GeneratedPod[];
  /** Chooses the pods and ports changed: seeded alike, so both builds get the same changes. */
  r: () => number;
  onetime: { wallMs: number; cpuMs: number; rssMiB: number; load: number }[];
  watch: { ms: number; load: number }[];
  startMs: number;
  cpuPerChangeMs: number;
  watchRssMiB: number;
  burst: string;
}

const load1 = () => loadavg()[0]!;
const PREFIXES = ["/a", "/b"] as const;

function side(name: string, bin: string, prefix: string, n: number): Side {
  const pods = generatePods(n);
  return {
    name,
    bin,
    setup: makeConfdir(prefix),
    pods,
    matching: pods.filter((p) => rendered(p.spec)),
    r: rng(7),
    onetime: [],
    watch: [],
    startMs: Number.NaN,
    cpuPerChangeMs: Number.NaN,
    watchRssMiB: Number.NaN,
    burst: "",
  };
}

/** [a, b] on even turns, [b, a] on odd ones: neither build always goes first. */
const turn = <T>(i: number, a: T, b: T): T[] => (i % 2 === 0 ? [a, b] : [b, a]);

export async function abMain(o: AbOptions): Promise<void> {
  const header = templateHeader(readFileSync(join(GOLDEN, "upstream.tmpl"), "utf8"));
  const cur = side("this build", CONFD, PREFIXES[0], o.pods);
  const base = side(
    `baseline ${o.baseline}`,
    join(o.baseline, "bin/domeos-confd"),
    PREFIXES[1],
    o.pods,
  );
  const expected = (s: Side) => expectedUpstream(s.pods, header);
  const etcd = new EtcdServer();
  await etcd.start();
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 30_000 });
  const admin = new Etcd3({ hosts: etcd.endpoint });
  const etcdctl: number[] = [];
  try {
    for (const s of [cur, base]) await load(admin, s.pods, s.setup.prefix);
    const bytes = cur.pods.reduce((a, p) => a + p.value.length, 0);
    console.log(
      `# A/B: ${o.pods} pods (${(bytes / 1e6).toFixed(1)} MB, ${cur.matching.length} rendered) per build, this build under ${cur.setup.prefix}, ${base.name} under ${base.setup.prefix}; load average at start ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );

    // 1. -onetime, alternating; etcdctl dumping one build's pods once per pair, for scale.
    for (let i = 0; i < o.onetimeRuns; i++) {
      for (const s of turn(i, cur, base)) {
        const l = load1();
        s.onetime.push({ ...onetimeRun(s.bin, s.setup, etcd.endpoint, expected(s)), load: l });
      }
      if (existsSync(ETCDCTL)) {
        const argv = [
          "--endpoints",
          etcd.endpoint,
          "get",
          "--prefix",
          `${cur.setup.prefix}/registry/pods/default/`,
        ];
        etcdctl.push(timed(ETCDCTL, argv, { ...CHILD_ENV, ETCDCTL_API: "3" }, false).ms);
      }
    }

    // 2. watch: both running, changes alternating between their key spaces.
    const procs = new Map<Side, ReturnType<typeof startConfd>>();
    for (const s of [cur, base]) {
      rmSync(s.setup.dest, { force: true });
      const t0 = performance.now();
      procs.set(s, startConfd(s.setup, etcd.endpoint, [], s.bin));
      await waitFile(s.setup.dest, (t) => t === expected(s), 120_000);
      s.startMs = performance.now() - t0;
    }
    const cpu0 = new Map([...procs].map(([s, p]) => [s, cpuSeconds(p.pid!)]));
    const pause = rng(3);
    for (let i = 0; i < o.samples; i++) {
      for (const s of turn(i, cur, base)) {
        const p = s.matching[Math.floor(s.r() * s.matching.length)]!;
        const line = changePort(p, 30000 + i, s.r);
        const want = expected(s);
        const l = load1();
        const tPut = performance.now();
        const seen = waitFile(s.setup.dest, (t) => t.includes(line), 20_000);
        await store.put(s.setup.prefix + p.key, p.value);
        s.watch.push({ ms: (await seen) - tPut, load: l });
        if (readText(s.setup.dest) !== want)
          throw new Error(`${s.name} watch sample ${i}: wrong output`);
        await sleep(100 + Math.floor(pause() * 100));
      }
    }
    for (const [s, p] of procs) {
      s.cpuPerChangeMs = ((cpuSeconds(p.pid!) - cpu0.get(s)!) * 1000) / o.samples;
      s.watchRssMiB = peakRssMiB(p.pid!);
      await stopConfd(p);
    }

    // 3. burst, one build after the other.
    if (o.burst > 0)
      for (const s of [cur, base]) s.burst = await burst(s, etcd, admin, o.burst, expected);

    report(o, cur, base, etcdctl);
  } finally {
    admin.close();
    await store.close();
    await etcd.destroy();
    for (const s of [cur, base]) rmSync(s.setup.confdir, { recursive: true, force: true });
  }
}

/** `count` changes in about 1 s (transactions of 10 pods every 10 ms) with -wait 100ms:1s. */
async function burst(
  s: Side,
  etcd: EtcdServer,
  admin: Etcd3,
  count: number,
  expected: (s: Side) => string,
): Promise<string> {
  rmSync(s.setup.dest, { force: true });
  const proc = startConfd(s.setup, etcd.endpoint, ["-wait", "100ms:1s"], s.bin);
  try {
    await waitFile(s.setup.dest, (t) => t === expected(s), 120_000);
    await sleep(1500); // any start-up reload is done
    const reloads0 = countReloads(s.setup);
    const targets = shuffle([...s.matching], s.r).slice(0, count);
    const txns: Promise<unknown>[] = [];
    const tb = performance.now();
    for (let i = 0; i < targets.length; i += 10) {
      const success = targets.slice(i, i + 10).map((p, j) => {
        changePort(p, 40000 + i + j, s.r);
        return {
          request_put: { key: Buffer.from(s.setup.prefix + p.key), value: Buffer.from(p.value) },
        };
      });
      txns.push(admin.kv.txn({ success }));
      const ahead = tb + ((i + 10) * 1000) / targets.length - performance.now();
      if (ahead > 1) await sleep(ahead);
    }
    await Promise.all(txns);
    const tConv = await waitFile(s.setup.dest, (t) => t === expected(s), 20_000);
    await sleep(1500); // let a late extra reload show up
    return `${countReloads(s.setup) - reloads0} reloads, converged ${fmt(tConv - tb)} ms after the first change, final file correct, peak RSS ${fmt(peakRssMiB(proc.pid!))} MiB`;
  } finally {
    await stopConfd(proc);
  }
}

const range = (xs: number[]) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
const ratioCell = (rs: number[]) =>
  `**${median(rs).toFixed(2)}** (${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)})`;

function report(o: AbOptions, cur: Side, base: Side, etcdctl: number[]): void {
  const pairs = (f: (s: Side) => number[]) => f(cur).map((x, i) => x / f(base)[i]!);
  const wall = (s: Side) => s.onetime.map((r) => r.wallMs);
  const cpu = (s: Side) => s.onetime.map((r) => r.cpuMs);
  const lat = (s: Side) => s.watch.map((w) => w.ms);
  const loads = (s: Side) => [...s.onetime.map((r) => r.load)];
  const wloads = (s: Side) => s.watch.map((w) => w.load);
  const row = (m: string, f: (s: Side) => number[], unit: string) =>
    `| ${m} | ${fmt(median(f(cur)))} ${unit} (${range(f(cur))}) | ${fmt(median(f(base)))} ${unit} (${range(f(base))}) | ${ratioCell(pairs(f))} |`;
  const lines = [
    "",
    `| measurement | this build: median (range) | ${base.name}: median (range) | this / baseline: median of pair ratios (range) |`,
    "| --- | --- | --- | --- |",
    row(`-onetime wall (${o.onetimeRuns} pairs)`, wall, "ms"),
    row(`-onetime CPU (${o.onetimeRuns} pairs)`, cpu, "ms"),
    `| -onetime peak RSS (max) | ${fmt(Math.max(...cur.onetime.map((r) => r.rssMiB)))} MiB | ${fmt(Math.max(...base.onetime.map((r) => r.rssMiB)))} MiB | |`,
    row(`watch change -> file (${o.samples} pairs)`, lat, "ms"),
    `| watch change -> file p95 | ${fmt(quantile(lat(cur), 0.95))} ms | ${fmt(quantile(lat(base), 0.95))} ms | ${(quantile(lat(cur), 0.95) / quantile(lat(base), 0.95)).toFixed(2)} |`,
    `| watch CPU per change | ${fmt(cur.cpuPerChangeMs)} ms | ${fmt(base.cpuPerChangeMs)} ms | ${(cur.cpuPerChangeMs / base.cpuPerChangeMs).toFixed(2)} |`,
    `| watch peak RSS | ${fmt(cur.watchRssMiB)} MiB | ${fmt(base.watchRssMiB)} MiB | ${(cur.watchRssMiB / base.watchRssMiB).toFixed(2)} |`,
    `| watch start -> first file (1 each, this build first) | ${fmt(cur.startMs)} ms | ${fmt(base.startMs)} ms | ${(cur.startMs / base.startMs).toFixed(2)} |`,
    ...(o.burst > 0
      ? [`| burst of ${o.burst} changes, -wait 100ms:1s | ${cur.burst} | ${base.burst} | |`]
      : []),
    "",
    `load average (1 min) during -onetime: median ${fmt(median(loads(cur)))} (${range([...loads(cur), ...loads(base)])}); during watch samples: median ${fmt(median(wloads(cur)))} (${range([...wloads(cur), ...wloads(base)])}); at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
    etcdctl.length
      ? `etcdctl get --prefix of one build's pods, once per -onetime pair: median ${fmt(median(etcdctl))} ms (${range(etcdctl)}); -onetime wall / etcdctl: this build ${(median(wall(cur)) / median(etcdctl)).toFixed(2)}, baseline ${(median(wall(base)) / median(etcdctl)).toFixed(2)}`
      : `etcdctl NOT MEASURED (${ETCDCTL} missing)`,
    `-onetime walls, this build: ${wall(cur).map(fmt).join(", ")}; baseline: ${wall(base).map(fmt).join(", ")}`,
    `watch samples (ms), this build: ${lat(cur).map(fmt).join(", ")}`,
    `watch samples (ms), baseline: ${lat(base).map(fmt).join(", ")}`,
  ];
  console.log(lines.join("\n"));
}
