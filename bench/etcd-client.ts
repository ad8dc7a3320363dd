// The etcd store's own cost per pod report: the client CPU (this process,
// user + system) and wall time of one get + one compare-and-swap put of a
// 4 KB pod, 32 at a time on a real etcd, for this build and optionally for a
// built checkout of another commit (--baseline DIR), in alternating rounds
// in the same process on the same etcd (a shared machine's load hits both).
//
//   npm run build && node dist/bench/etcd-client.js [--ops 3000] [--rounds 4] [--baseline DIR]

import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Store } from "../src/store/store.js";
import { EtcdServer } from "../test/support/etcd.js";

const { values: args } = parseArgs({
  options: {
    ops: { type: "string", default: "3000" },
    rounds: { type: "string", default: "4" },
    baseline: { type: "string" },
  },
});
const OPS = Number(args.ops);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = 32;

type StoreClass = new (opts: { endpoints: string[] }) => Store;

async function storeOf(dir: string): Promise<StoreClass> {
  const url = pathToFileURL(join(resolve(dir), "dist/src/store/etcd.js")).href;
  return (await import(url)).EtcdStore as StoreClass;
}

interface Round {
  cpuUsPerOp: number;
  opsPerS: number;
}

async function round(Ctor: StoreClass, endpoint: string, name: string): Promise<Round> {
  const s = new Ctor({ endpoints: [endpoint] });
  const value = JSON.stringify({ kind: "Pod", pad: "x".repeat(4000) });
  try {
    for (let i = 0; i < CONCURRENCY; i++) await s.put(`/bench/client/${name}/${i}`, value);
    let n = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const key = `/bench/client/${name}/${i}`;
        while (n < OPS) {
          n++;
          const kv = await s.get(key);
          const r = await s.put(key, value, { expectModRevision: kv!.modRevision });
          if (!r.ok) throw new Error(`${name}: compare-and-swap on an own key failed`);
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    return { cpuUsPerOp: (cpu.user + cpu.system) / OPS, opsPerS: (OPS / ms) * 1000 };
  } finally {
    await s.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const builds: [string, StoreClass][] = [["this build", await storeOf(".")]];
  if (args.baseline) builds.push([`baseline ${args.baseline}`, await storeOf(args.baseline)]);
  const etcd = new EtcdServer();
  await etcd.start();
  const results = new Map<string, Round[]>(builds.map(([name]) => [name, []]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? builds : [...builds].reverse();
      for (const [name, Ctor] of order) {
        results.get(name)!.push(await round(Ctor, etcd.endpoint, name.replace(/\W+/g, "-")));
      }
    }
  } finally {
    await etcd.destroy();
  }
  console.log(
    `| build | client CPU per get + CAS put (median of ${ROUNDS}) | rounds | ops/s (median) |`,
  );
  console.log("| --- | --- | --- | --- |");
  for (const [name, rs] of results) {
    console.log(
      `| ${name} | ${median(rs.map((x) => x.cpuUsPerOp)).toFixed(0)} µs | ${rs.map((x) => x.cpuUsPerOp.toFixed(0)).join(", ")} | ${median(rs.map((x) => x.opsPerS)).toFixed(0)} |`,
    );
  }
}

await main();
