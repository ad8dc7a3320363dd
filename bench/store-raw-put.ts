// Pod store benchmark. The baseline is a raw etcd put loop (etcd3 client,
// no store layer): `rawEtcdPutLoop` is exported so the server benchmark can
// measure its own baseline in the same run. Run directly, it compares the
// store layers against that baseline on a real etcd started here:
//
//   npx tsc -p . && node dist/bench/store-raw-put.js [seconds-per-case]
//
// Every case runs `concurrency` workers for a fixed time and reports
// operations per second and latency percentiles.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Etcd3 } from "etcd3";
import { EmbeddedStore } from "../src/store/embedded.js";
import { EtcdStore } from "../src/store/etcd.js";
import { mergeAnnotations } from "../src/store/merge.js";
import type { Store } from "../src/store/store.js";
import { EtcdServer } from "../test/support/etcd.js";
import { podJson } from "./confd-pods.js";

export interface LoopResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Run `op` in `concurrency` parallel workers for `durationMs`; time every call. */
export async function timedLoop(
  concurrency: number,
  durationMs: number,
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + durationMs;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < end; i++) {
      const s = performance.now();
      await op(w, i);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    ops: latencies.length,
    seconds,
    opsPerSec: latencies.length / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

export interface RawPutOptions {
  /** etcd endpoint, e.g. http://127.0.0.1:2379 */
  endpoint: string;
  concurrency?: number;
  durationMs?: number;
  /** The value written (default: a ~4 KB pod JSON). */
  value?: string;
  keyPrefix?: string;
}

/** The baseline: plain etcd puts of a pod-sized value to distinct keys, no store layer. */
export async function rawEtcdPutLoop(opts: RawPutOptions): Promise<LoopResult> {
  const client = new Etcd3({ hosts: opts.endpoint });
  const value = opts.value ?? samplePod(0);
  const prefix = opts.keyPrefix ?? "/bench/raw/";
  try {
    return await timedLoop(opts.concurrency ?? 256, opts.durationMs ?? 5000, (w) =>
      client.put(`${prefix}${w}`).value(value).exec(),
    );
  } finally {
    client.close();
  }
}

/** A 3-5 KB Kubernetes v1 Pod JSON, as the server stores them. */
export function samplePod(i: number): string {
  return podJson({
    name: `bench-${i}`,
    podIP: `10.0.${(i >> 8) & 255}.${i & 255}`,
    deployName: "bench",
    accessType: "DIY",
  });
}

interface Case {
  name: string;
  result: LoopResult;
  extra?: string;
}

async function seedPods(store: Store, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.put(`${prefix}${i}`, samplePod(i));
}

async function main(): Promise<void> {
  const secs = Number(process.argv[2] ?? 5);
  const ms = secs * 1000;
  const etcd = new EtcdServer();
  await etcd.start();
  const dir = mkdtempSync(join(tmpdir(), "bench-store-"));
  const cases: Case[] = [];
  try {
    const C = 256;
    cases.push({
      name: `raw etcd put (etcd3), ${C} workers`,
      result: await rawEtcdPutLoop({ endpoint: etcd.endpoint, concurrency: C, durationMs: ms }),
    });

    const es = new EtcdStore({ endpoints: [etcd.endpoint], callTimeoutMs: 60_000 });
    const pod = samplePod(1);
    cases.push({
      name: `EtcdStore.put, ${C} workers`,
      result: await timedLoop(C, ms, (w) => es.put(`/bench/store/${w}`, pod)),
    });

    // Compare-and-swap puts, each worker on its own key with the revision it
    // last wrote (the server's case after its first write): batched into
    // nested transactions by EtcdStore (etcd/cas-batcher.ts).
    const revs = new Array<number>(C).fill(0);
    for (let w = 0; w < C; w++) revs[w] = (await es.put(`/bench/cas/${w}`, pod)).revision;
    let casFailed = 0;
    const casBatches0 = es.casBatcher?.stats.batches ?? 0;
    const casOps0 = es.casBatcher?.stats.ops ?? 0;
    const cas = await timedLoop(C, ms, async (w) => {
      const r = await es.put(`/bench/cas/${w}`, pod, { expectModRevision: revs[w] });
      if (r.ok) revs[w] = r.revision;
      else casFailed++;
    });
    const batches = (es.casBatcher?.stats.batches ?? 0) - casBatches0;
    cases.push({
      name: `EtcdStore.put compare-and-swap, ${C} workers, own key each`,
      result: cas,
      extra: `${casFailed} failed CAS; ${batches > 0 ? `${((es.casBatcher!.stats.ops - casOps0) / batches).toFixed(1)} puts per etcd transaction` : "unbatched"}`,
    });

    await seedPods(es, "/registry/pods/bench/p", C);
    cases.push({
      name: `mergeAnnotations on etcd, ${C} workers, own pod each`,
      result: await timedLoop(C, ms, (w, i) =>
        mergeAnnotations(es, `/registry/pods/bench/p${w}`, {
          AUTO_PORT0: String(20000 + (i % 1000)),
        }),
      ),
    });

    let retries = 0;
    await es.put("/registry/pods/bench/hot", samplePod(9999));
    const hot = await timedLoop(64, ms, async (w, i) => {
      const r = await mergeAnnotations(
        es,
        "/registry/pods/bench/hot",
        { [`k${w}`]: String(i) },
        { maxRetries: 10_000 },
      );
      retries += r.retries;
    });
    cases.push({
      name: "mergeAnnotations on etcd, 64 workers, ONE pod",
      result: hot,
      extra: `${(retries / hot.ops).toFixed(2)} CAS retries per merge`,
    });
    await es.close();

    const em = new EmbeddedStore(dir);
    cases.push({
      name: "EmbeddedStore.put (synchronous=FULL), 64 workers",
      result: await timedLoop(64, ms, (w) => em.put(`/bench/emb/${w}`, pod)),
    });
    await seedPods(em, "/registry/pods/bench/p", 64);
    cases.push({
      name: "mergeAnnotations on embedded, 64 workers, own pod each",
      result: await timedLoop(64, ms, (w, i) =>
        mergeAnnotations(em, `/registry/pods/bench/p${w}`, {
          AUTO_PORT0: String(20000 + (i % 1000)),
        }),
      ),
    });
    await em.close();
  } finally {
    await etcd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  print(cases, secs);
}

function print(cases: Case[], secs: number): void {
  const base = cases[0].result.opsPerSec;
  console.log(`store benchmark, ${secs}s per case, value = ${samplePod(1).length} B pod JSON`);
  console.log("| case | ops/s | ratio to raw put | p50 ms | p99 ms | max ms | note |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const c of cases) {
    const r = c.result;
    console.log(
      `| ${c.name} | ${r.opsPerSec.toFixed(0)} | ${(r.opsPerSec / base).toFixed(2)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${c.extra ?? ""} |`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
