// Standalone end-to-end latency: a host-mode deployment of 3 replicas with
// NEED_PORTS=2 created through the admin API until nginx routes to all 3
// (target <= 2 s), scale 3 -> 5, and a SIGKILLed replica out of / back into
// nginx. Each replica starts two Node processes (domeize, the app), so the
// baseline measured in the same run is `node -e 0` wall time; the ratio
// create-to-routed / node-start says how many Node starts the whole path
// costs, which stays meaningful on a loaded machine.
//
//   node dist/bench/standalone-routing.js [rounds] [embedded|etcd]
import { spawnSync } from "node:child_process";
import { DEPLOYMENT, System } from "../test/e2e/system.js";

const ROUNDS = Number(process.argv[2] ?? 3);
const KIND = (process.argv[3] ?? "embedded") as "embedded" | "etcd";

function nodeStartMs(): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ["-e", "0"]);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function names(sys: System, n: number): Promise<string[]> {
  for (;;) {
    const pods = (await sys.pods()).filter((p) => p.metadata.annotations.deployName === DEPLOYMENT);
    if (pods.length === n) return pods.map((p) => p.metadata.name);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function round(): Promise<Record<string, number>> {
  const sys = new System(KIND);
  try {
    await sys.start();
    const base = [nodeStartMs(), nodeStartMs(), nodeStartMs()];
    let t0 = performance.now();
    const r = await sys.api("POST", "/api/deployments", sys.demoDeployment(3, 2));
    if (r.status !== 201) throw new Error(r.msg);
    await sys.routesTo(await names(sys, 3), 60_000);
    const create3 = performance.now() - t0;
    t0 = performance.now();
    await sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, { replicas: 5 });
    await sys.routesTo(await names(sys, 5), 60_000);
    const scale5 = performance.now() - t0;
    const pod = (await sys.pods())[0];
    const port = pod.metadata.annotations.AUTO_PORT0;
    const { pid } = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number };
    t0 = performance.now();
    process.kill(pid, "SIGKILL");
    while (sys.upstreamLists(port)) await new Promise((res) => setTimeout(res, 5));
    const out = performance.now() - t0;
    await sys.routesTo(await names(sys, 5), 60_000);
    const back = performance.now() - t0;
    base.push(nodeStartMs(), nodeStartMs());
    return { nodeStart: median(base), create3, scale5, out, back };
  } finally {
    await sys.destroy();
  }
}

const rows: Record<string, number>[] = [];
for (let i = 0; i < ROUNDS; i++) rows.push(await round());
const col = (k: string) => median(rows.map((r) => r[k]));
const ns = col("nodeStart");
const line = (label: string, k: string, note: string) =>
  `| ${label} | ${col(k).toFixed(0)} | ${(col(k) / ns).toFixed(1)} | ${note} |`;
process.stdout.write(
  [
    `standalone routing, ${KIND} store, median of ${ROUNDS} rounds (node -e 0 = ${ns.toFixed(0)} ms in this run)`,
    "",
    "| step | ms | x node start | note |",
    "| --- | ---: | ---: | --- |",
    line("create 3 replicas (NEED_PORTS=2) -> nginx routes to all 3", "create3", "target 2000 ms"),
    line("scale 3 -> 5 -> nginx routes to all 5", "scale5", ""),
    line("SIGKILL a replica's app -> out of the rendered upstream", "out", ""),
    line("SIGKILL -> back in nginx (restart after backoff)", "back", "backoff 200 ms"),
    "",
  ].join("\n"),
);
