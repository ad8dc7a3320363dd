// domeos-confd's traffic settings, measured with real etcd, real nginx and
// the real bin/domeos-confd on the example resource, each against a baseline
// in the same run:
// - reload budget: one pod rewrites its port 10 times a second for 5 s;
//   nginx reloads with the example's budget (wait 100ms:1s,
//   reload_min_interval 500ms) vs none (every change one reload, as confd);
// - bad-pod isolation: a scale-up of 6 pods, one with AUTO_PORT0="abc",
//   from the last write to every good new pod in the file, vs the same
//   scale-up without the bad pod (the cost of tracing nginx -t's refusal).
//
//   node dist/bench/confd-traffic.js [rounds]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedStore } from "../src/store/embedded.js";
import { EtcdStore } from "../src/store/etcd.js";
import type { Store } from "../src/store/store.js";
import {
  Confd,
  exampleReloadBudget,
  makeConfdir,
  metricValue,
  PODS,
  podFor,
  readText,
  until,
} from "../test/confd/nginx-harness.js";
import { EtcdServer } from "../test/support/etcd.js";
import { NginxServer } from "../test/support/nginx.js";
import { freePort } from "../test/support/ports.js";

const ROUNDS = Number(process.argv[2] ?? 2);

interface Running {
  confd: Confd;
  dest: string;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** nginx + confd (example template, `extra` resource lines) over `node`. */
async function start(kind: "etcd" | "embedded", node: string, extra: string): Promise<Running> {
  const nginx = new NginxServer();
  await nginx.configure("img_cs_group");
  const { confdir, dest } = makeConfdir(nginx, extra);
  const port = await freePort();
  const confd = new Confd([
    "-confdir",
    confdir,
    "-config-file",
    "/nonexistent",
    "-backend",
    kind === "etcd" ? "etcdv3" : "embedded",
    "-node",
    node,
    "-watch",
    "-metrics-addr",
    `127.0.0.1:${port}`,
  ]);
  confd.start();
  await until(() => readText(dest).includes("max_fails"), 30_000, "the first render");
  await nginx.start();
  return {
    confd,
    dest,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    async stop() {
      await confd.stop();
      await nginx.destroy();
      rmSync(confdir, { recursive: true, force: true });
    },
  };
}

const reloads = (r: Running) => metricValue(r.metricsUrl, "confd_reloads_total", { result: "ok" });

/** One pod rewriting its port 10 times a second for 5 s: reloads spent. */
async function flappingPod(store: Store, r: Running): Promise<number> {
  const before = await reloads(r);
  for (let n = 0; n < 50; n++) {
    await store.put(`${PODS}/flap`, podFor("flap", "127.0.0.1", 20000 + (n % 7)));
    await new Promise((res) => setTimeout(res, 100));
  }
  await until(() => readText(r.dest).includes(":20000 "), 10_000, "the last port");
  await new Promise((res) => setTimeout(res, 2000)); // anything scheduled has fired
  return (await reloads(r)) - before;
}

/** Scale-up of 6 pods (one bad when `bad`): ms from the last write to the 5 good ones in the file. */
async function scaleUp(store: Store, r: Running, round: string, bad: boolean): Promise<number> {
  const good = [0, 1, 2, 3, 4].map((i) => ({ name: `up-${round}-${i}`, port: 21000 + i }));
  for (const [i, p] of good.entries()) {
    await store.put(`${PODS}/${p.name}`, podFor(p.name, "127.0.0.1", p.port));
    if (i === 2)
      await store.put(
        `${PODS}/up-${round}-x`,
        podFor(`up-${round}-x`, "127.0.0.1", bad ? "abc" : 21009),
      );
  }
  const t0 = performance.now();
  await until(
    () => good.every((p) => readText(r.dest).includes(`:${p.port} `)),
    30_000,
    "the good pods",
  );
  const ms = performance.now() - t0;
  for (const p of good) await store.delete(`${PODS}/${p.name}`);
  await store.delete(`${PODS}/up-${round}-x`);
  await until(() => !readText(r.dest).includes(":21000 "), 30_000, "the scale-down");
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const etcd = new EtcdServer();
  await etcd.start();
  const dataDir = mkdtempSync(join(tmpdir(), "bench-traffic-"));
  const stores: [string, Store, string][] = [
    ["etcd", new EtcdStore({ endpoints: [etcd.endpoint] }), etcd.endpoint],
    ["embedded", new EmbeddedStore(join(dataDir, "store"), { synchronous: "normal" }), dataDir],
  ];
  try {
    for (const [kind, store, node] of stores) {
      await store.put(`${PODS}/base`, podFor("base", "127.0.0.1", 19999));
      const budget = await start(kind as "etcd", node, exampleReloadBudget());
      const none = await start(kind as "etcd", node, "");
      try {
        const rows: Record<string, number[]> = { budget: [], none: [], clean: [], bad: [] };
        for (let i = 0; i < ROUNDS; i++) {
          // Both confds watch the same store: one flapping pod, two reload counts.
          const [b, n] = await Promise.all([flappingPod(store, budget), reloads(none)]);
          rows.budget.push(b);
          rows.none.push((await reloads(none)) - n);
          rows.clean.push(await scaleUp(store, none, `c${i}`, false));
          rows.bad.push(await scaleUp(store, none, `b${i}`, true));
        }
        console.log(
          JSON.stringify({
            kind,
            rounds: ROUNDS,
            reloadsFor50ChangesIn5s: { budget: rows.budget, none: rows.none },
            reloadRatio: median(rows.budget) / median(rows.none),
            scaleUpMs: { clean: rows.clean.map(Math.round), oneBadPod: rows.bad.map(Math.round) },
            badPodCostRatio: median(rows.bad) / median(rows.clean),
          }),
        );
      } finally {
        await budget.stop();
        await none.stop();
        await store.close();
      }
    }
  } finally {
    await etcd.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
