// domeos-confd at 10,000 pods (3-5 KB each, about half rendered) in a real
// etcd, with the seed's upstream template, against confd's numbers measured
// in docs/reference/confd.md §11 (no confd binary here):
//   1. -onetime wall time and peak RSS (dest missing);
//   2. watch: one pod's AUTO_PORT0 changed -> file updated, median / p95;
//      peak RSS of the watching process;
//   3. 1,000 changes in 1 s with -wait 100ms:1s: reloads and final file.
// Every rendered file is compared byte for byte with the expected upstream.
//
//   npm run build && node dist/bench/confd-10k.js [--pods N] [--samples N] [--onetime-runs N] [--burst N]
//
// --baseline DIR (a built checkout of another commit): A/B of DIR's
// bin/domeos-confd against this build's, same etcd, same pods, interleaved
// run by run and change by change (bench/confd-10k-ab.ts).

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Etcd3 } from "etcd3";
import { createEtcdV3Backend } from "../src/confd/backends/etcdv3.js";
import { EtcdStore } from "../src/store/etcd.js";
import { EtcdServer } from "../test/support/etcd.js";
import { abMain } from "./confd-10k-ab.js";
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
  nodeStartMs,
  onetimeRun,
  peakRssMiB,
  quantile,
  ROOT,
  readText,
  type Setup,
  shuffle,
  sleep,
  startConfd,
  stopConfd,
  timed,
  waitFile,
} from "./confd-harness.js";
import { expectedUpstream, generatePods, rendered, rng, templateHeader } from "./confd-pods.js";

const READ_FLOOR = join(ROOT, "dist/bench/confd-read-floor.js");

/** confd 0.17 at 10k pods, reference §11 (shared 2-core VM). */
const CONFD_REF = {
  onetimeMs: 1090,
  onetimeRssMiB: 299,
  watchMedianMs: 1211,
  watchP95Ms: 1428,
  watchRssMiB: 347,
};

const { values: args } = parseArgs({
  options: {
    pods: { type: "string", default: "10000" },
    samples: { type: "string", default: "40" },
    "onetime-runs": { type: "string", default: "5" },
    burst: { type: "string", default: "1000" },
    /** A built checkout of another commit: its bin/domeos-confd measured in the same run (confd-10k-ab.ts). */
    baseline: { type: "string" },
  },
});

/**
 * 1. -onetime: wall time and peak RSS (GNU time), dest missing each run.
 * Interleaved with two floors read the same way: etcdctl dumping the pods
 * (the reference's own baseline, Go, Debian etcd-client) and a Node process
 * that only reads them through domeos-confd's reader (no render at all).
 */
function onetime(s: Setup, etcd: EtcdServer, expected: string, runs: number) {
  const walls: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  const etcdctl: number[] = [];
  const nodeRead: number[] = [];
  const hasEtcdctl = existsSync(ETCDCTL);
  for (let i = 0; i < runs; i++) {
    const run = onetimeRun(CONFD, s, etcd.endpoint, expected);
    walls.push(run.wallMs);
    rss.push(run.rssMiB);
    cpu.push(run.cpuMs);
    if (hasEtcdctl) {
      const args = ["--endpoints", etcd.endpoint, "get", "--prefix", "/registry/pods/default/"];
      // Its 40 MB dump goes to /dev/null, as in the reference's measurement.
      etcdctl.push(timed(ETCDCTL, args, { ...CHILD_ENV, ETCDCTL_API: "3" }, false).ms);
    }
    nodeRead.push(
      timed(process.execPath, [READ_FLOOR, etcd.endpoint, "/registry/pods/default/"]).ms,
    );
  }
  return {
    wallMs: median(walls),
    walls,
    rssMiB: Math.max(...rss),
    cpuMs: median(cpu),
    etcdctlMs: hasEtcdctl ? median(etcdctl) : Number.NaN,
    nodeReadMs: median(nodeRead),
  };
}

async function main(): Promise<void> {
  if (args.baseline) {
    await abMain({
      baseline: args.baseline,
      pods: Number(args.pods),
      samples: Number(args.samples),
      onetimeRuns: Number(args["onetime-runs"]),
      burst: Number(args.burst),
    });
    return;
  }
  const n = Number(args.pods);
  const header = templateHeader(readFileSync(join(GOLDEN, "upstream.tmpl"), "utf8"));
  const etcd = new EtcdServer();
  await etcd.start();
  // Generous deadlines: the bench's own writes must not fail on a busy host.
  const store = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 30_000 });
  // The npm etcd3 client (a dev dependency) for bulk transactions of plain puts.
  const admin = new Etcd3({ hosts: etcd.endpoint });
  const s = makeConfdir();
  try {
    const tg = performance.now();
    const pods = generatePods(n);
    const bytes = pods.reduce((a, p) => a + p.value.length, 0);
    await load(admin, pods);
    const matching = pods.filter((p) => rendered(p.spec));
    const expected = () => expectedUpstream(pods, header);
    console.log(
      `# ${n} pods, ${(bytes / 1e6).toFixed(1)} MB, ${matching.length} rendered; loaded in ${fmt((performance.now() - tg) / 1000)} s`,
    );

    // Baseline in this run: one full read of the pods (confd's reference: etcdctl get --prefix 0.21-0.32 s).
    const reads: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await store.list("/registry/pods/default/");
      reads.push(performance.now() - t);
    }
    const readMs = median(reads);
    console.log(
      `baseline: full read of the pods (the store's etcd client, in-process) ${fmt(readMs)} ms`,
    );

    // The backend alone, in this process: snapshot time and put -> mirror updated.
    const mirror = createEtcdV3Backend({
      backend: "etcdv3",
      nodes: [etcd.endpoint],
      watch: true,
      log: () => {},
    });
    const ts = performance.now();
    await mirror.start(["/registry/pods/default"]);
    const snapMs = performance.now() - ts;
    const mlat: number[] = [];
    const mr = rng(11);
    for (let i = 0; i < 40; i++) {
      const p = matching[Math.floor(mr() * matching.length)];
      const value = `${p.value.slice(0, -1)}, "bench": ${i}}`;
      const seen = new Promise<number>((res) => {
        mirror.onChange((keys) => {
          if (keys?.includes(p.key) && mirror.view().get(p.key) === value) res(performance.now());
        });
      });
      const t = performance.now();
      await store.put(p.key, value);
      mlat.push((await seen) - t);
      await store.put(p.key, p.value);
    }
    await mirror.close();
    console.log(
      `backend alone: snapshot ${fmt(snapMs)} ms; put -> mirror updated median ${fmt(median(mlat))} ms, p95 ${fmt(quantile(mlat, 0.95))} ms`,
    );

    // 1. onetime
    const one = onetime(s, etcd, expected(), Number(args["onetime-runs"]));
    console.log(
      `onetime: wall median ${fmt(one.wallMs)} ms (runs ${one.walls.map(fmt).join(", ")}), CPU median ${fmt(one.cpuMs)} ms, peak RSS ${fmt(one.rssMiB)} MiB; node -e 0 in the same run: ${fmt(nodeStartMs())} ms${process.env.NODE_EXTRA_CA_CERTS ? " (children run without this shell's NODE_EXTRA_CA_CERTS)" : ""}`,
    );
    console.log(
      `onetime floors, same runs (medians): etcdctl get --prefix of the pods ${Number.isNaN(one.etcdctlMs) ? `NOT MEASURED (${ETCDCTL} missing: apt-get install etcd-client)` : `${fmt(one.etcdctlMs)} ms`}; a Node process that only reads them (dist/bench/confd-read-floor.js) ${fmt(one.nodeReadMs)} ms`,
    );

    // 2. watch latency
    rmSync(s.dest, { force: true });
    const proc = startConfd(s, etcd.endpoint, []);
    const t0 = performance.now();
    await waitFile(s.dest, (t) => t === expected(), 60_000);
    const startMs = performance.now() - t0;
    const r = rng(7);
    const lat: number[] = [];
    const cpu0 = cpuSeconds(proc.pid!);
    for (let i = 0; i < Number(args.samples); i++) {
      const p = matching[Math.floor(r() * matching.length)];
      const line = changePort(p, 30000 + i, r);
      const want = expected();
      const tPut = performance.now();
      const seen = waitFile(s.dest, (t) => t.includes(line), 10_000);
      await store.put(p.key, p.value);
      lat.push((await seen) - tPut);
      if (readText(s.dest) !== want) throw new Error(`watch sample ${i}: wrong output`);
      await sleep(100 + Math.floor(r() * 100));
    }
    const cpuPerChange = ((cpuSeconds(proc.pid!) - cpu0) * 1000) / lat.length;
    const watchRss = peakRssMiB(proc.pid!);
    await stopConfd(proc);
    const med = median(lat);
    const p95 = quantile(lat, 0.95);
    console.log(
      `watch: start->first file ${fmt(startMs)} ms; change->file median ${fmt(med)} ms, p95 ${fmt(p95)} ms, max ${fmt(Math.max(...lat))} ms (${lat.length} samples); CPU per change ${fmt(cpuPerChange)} ms; peak RSS ${fmt(watchRss)} MiB`,
    );

    // 3. burst with -wait 100ms:1s
    const burst = Number(args.burst);
    rmSync(s.dest, { force: true }); // so the wait below sees this process's first render
    const proc2 = startConfd(s, etcd.endpoint, ["-wait", "100ms:1s"]);
    await waitFile(s.dest, (t) => t === expected(), 60_000);
    await sleep(1500); // any start-up reload is done
    const reloads0 = countReloads(s);
    // Distinct pods: concurrent writes to one key could land in either order.
    // Sent as 100 transactions of 10 pods, one every 10 ms: this VM's etcd
    // (fsync per commit) cannot take 1,000 single puts in one second.
    const targets = shuffle([...matching], r).slice(0, burst);
    const txns: Promise<unknown>[] = [];
    const tb = performance.now();
    for (let i = 0; i < targets.length; i += 10) {
      const batch = targets.slice(i, i + 10);
      const success = batch.map((p, j) => {
        changePort(p, 40000 + i + j, r);
        return { request_put: { key: Buffer.from(p.key), value: Buffer.from(p.value) } };
      });
      txns.push(admin.kv.txn({ success }));
      const ahead = tb + ((i + 10) * 1000) / targets.length - performance.now();
      if (ahead > 1) await sleep(ahead);
    }
    await Promise.all(txns);
    const burstMs = performance.now() - tb;
    const final = expected();
    const tConv = await waitFile(s.dest, (t) => t === final, 10_000);
    await sleep(1500); // let a late extra reload show up
    const reloads = countReloads(s) - reloads0;
    const burstRss = peakRssMiB(proc2.pid!);
    await stopConfd(proc2);
    console.log(
      `burst: ${burst} changes committed in ${fmt(burstMs)} ms with -wait 100ms:1s -> ${reloads} reloads, converged ${fmt(tConv - tb)} ms after the first change; final file correct; peak RSS ${fmt(burstRss)} MiB`,
    );

    console.log("\n| measurement | domeos-confd | confd 0.17 (reference) | ratio |");
    console.log("|---|---|---|---|");
    const row = (m: string, ours: number, theirs: number, unit: string) =>
      console.log(
        `| ${m} | ${fmt(ours)} ${unit} | ${fmt(theirs)} ${unit} | ${(theirs / ours).toFixed(1)}x |`,
      );
    row("change -> file, median", med, CONFD_REF.watchMedianMs, "ms");
    row("change -> file, p95", p95, CONFD_REF.watchP95Ms, "ms");
    row("watch peak RSS", Math.max(watchRss, burstRss), CONFD_REF.watchRssMiB, "MiB");
    row("-onetime wall (median)", one.wallMs, CONFD_REF.onetimeMs, "ms");
    row("-onetime peak RSS", one.rssMiB, CONFD_REF.onetimeRssMiB, "MiB");
    // Load-independent view of -onetime: wall time in units of etcdctl dumping the same data
    // (how the reference measured its read floor: confd 1,090 ms / etcdctl 265 ms).
    if (!Number.isNaN(one.etcdctlMs)) {
      console.log(
        `| -onetime wall / etcdctl get --prefix, same run | ${(one.wallMs / one.etcdctlMs).toFixed(2)} | ${(CONFD_REF.onetimeMs / 265).toFixed(2)} (1,090 / 265 ms) | target <= ${(CONFD_REF.onetimeMs / 3 / 265).toFixed(2)} |`,
      );
    }
    console.log(
      `| -onetime wall / full read in-process (the store's etcd client), same run | ${(one.wallMs / readMs).toFixed(1)} | | |`,
    );
    row("CPU per change (watch)", cpuPerChange, 1270, "ms");
    console.log(
      `| burst reloads (1,000 changes / 1 s, -wait 100ms:1s) | ${reloads} | 2 renders per 100 changes/s (no wait) | |`,
    );
  } finally {
    admin.close();
    await store.close();
    await etcd.destroy();
    rmSync(s.confdir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
