// Traffic through churn (issues 10 and 12): real nginx in front of a host-mode
// deployment of examples/demo-app run by the standalone runtime, routed by
// the real domeos-confd, with a keep-alive load (16 clients, GET and POST)
// and a `Connection: close` group running the whole time, while it:
// scales 3 -> 5 (writing one malformed pod object meanwhile) -> 1 -> 3,
// SIGKILLs one replica's app, SIGSTOPs one for 6 s, and has one pod rewrite
// its port 10 times a second for 5 s; then two rollouts (the app's
// DEMO_VERSION) and a rollback (issue 11). Prints one row per phase: requests,
// failed, slowest, nginx reloads; and the event timings against the targets
// (hung replica out within 2 s, killed within 1 s, scale-down within 1 s),
// each measured until nginx no longer routes to the replica (the rendered
// upstream in reload mode, the pushed member list in dynamic mode).
// The same churn runs in both nginx modes in one run (issue 12): dynamic
// endpoints (members pushed to nginx's Lua balancer, no reload) and reload
// mode; then change -> nginx routes by it, p50/p95, at 3 pods (under the
// load, in the whole system) and at --pods pods in the store (confd, nginx
// and the store alone: bench/churn-latency.ts).
//
//   npm run build && node dist/bench/churn.js [embedded|etcd] [--modes dynamic,reload] [--pods 3,10000] [--samples 20] [--no-churn]
// (CHURN_DEBUG=1: print confd's latency metrics and keep the scale run's
// directory; with DOMEOS_CONFD_TRACE=1 its confd.log has one line per phase)
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { isRoutable, type PodObject } from "../src/runtime/pod-object.js";
import { updatePod, updatePodAt } from "../src/runtime/pod-writer.js";
import type { LoadSettings, PhaseStats } from "../test/e2e/load.js";
import { DEPLOYMENT, System } from "../test/e2e/system.js";
import {
  changeToRouted,
  latencyAtScale,
  type Mode,
  quantile,
  type ScaleResult,
} from "./churn-latency.js";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    modes: { type: "string", default: "dynamic,reload" },
    pods: { type: "string", default: "3,10000" },
    samples: { type: "string", default: "20" },
    "no-churn": { type: "boolean", default: false },
  },
});
const KIND = (positionals[0] ?? "embedded") as "embedded" | "etcd";
const MODES = args.modes.split(",") as Mode[];
const PODS = args.pods
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const SAMPLES = Number(args.samples);
const KEEPALIVE_CLIENTS = 16;
const CLOSE_CLIENTS = 4;
const INTERVAL_MS = 40; // per client: ~25 req/s each, ~500 req/s offered in all

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The deployment: the demo app with an HTTP readiness check that sees a hang within ~1.5 s. */
function deploymentBody(sys: System, replicas: number): Record<string, unknown> {
  return {
    ...sys.demoDeployment(replicas, 1),
    readinessProbe: {
      httpGet: { path: "/", port: 0 },
      periodSeconds: 0.5,
      timeoutSeconds: 0.5,
      failureThreshold: 2,
    },
  };
}

/** The deployment's pods in the store (objects that do not decode are skipped, as the runtime does). */
async function storedPods(sys: System): Promise<PodObject[]> {
  const res = await sys.reader!.list("/registry/pods/default/");
  return res.kvs.flatMap((kv) => {
    try {
      const p = JSON.parse(kv.value) as PodObject;
      return p?.metadata?.annotations?.deployName === DEPLOYMENT ? [p] : [];
    } catch {
      return [];
    }
  });
}

async function podNames(sys: System, n: number): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const pods = (await storedPods(sys)).filter((p) => !p.metadata.deletionTimestamp);
    if (pods.length === n) return pods.map((p) => p.metadata.name);
    await sleep(20);
  }
  throw new Error(`never saw ${n} pods`);
}

/** ms until the stored pod is no longer routable (Ready False or being deleted). */
async function timeUntilUnroutable(sys: System, pod: string, t0: number): Promise<number> {
  for (;;) {
    const p = (await storedPods(sys)).find((x) => x.metadata.name === pod);
    if (!p || !isRoutable(p)) return performance.now() - t0;
    if (performance.now() - t0 > 30_000) return -1;
    await sleep(5);
  }
}

async function portOf(sys: System, pod: string): Promise<number> {
  const p = (await storedPods(sys)).find((x) => x.metadata.name === pod);
  return Number(p?.metadata.annotations.AUTO_PORT0);
}

/** ms until nginx no longer routes to `port` (-1: still routed after 30 s). */
async function timeUntilOut(sys: System, port: number, t0: number): Promise<number> {
  while (await sys.routes(port)) {
    if (performance.now() - t0 > 30_000) return -1;
    await sleep(5);
  }
  return performance.now() - t0;
}

/** confd's successful reloads so far (NaN: confd did not answer). */
function reloads(sys: System): Promise<number> {
  return sys.confdMetric("confd_reloads_total", 'result="ok"').catch(() => Number.NaN);
}

interface Row {
  phase: string;
  reloads: number;
  note: string;
}

interface ModeResult {
  mode: Mode;
  rows: Row[];
  stats: PhaseStats;
  timings: string[];
  /** change -> routed at 3 pods, under the load */
  latency3: number[];
}

async function run(mode: Mode): Promise<ModeResult> {
  const sys = new System(KIND, {}, { dynamic: mode === "dynamic" });
  const rows: Row[] = [];
  const latency3: number[] = [];
  const timings: string[] = [];
  let worker: Worker | null = null;
  try {
    await sys.start();
    const created = await sys.api("POST", "/api/deployments", deploymentBody(sys, 3));
    if (created.status !== 201) throw new Error(created.msg);
    await sys.routesTo(await podNames(sys, 3), 60_000);

    worker = new Worker(join(import.meta.dirname, "churn-load.js"), {
      workerData: {
        url: `http://127.0.0.1:${sys.nginx!.port}/`,
        keepAliveClients: KEEPALIVE_CLIENTS,
        closeClients: CLOSE_CLIENTS,
        intervalMs: INTERVAL_MS,
      } satisfies LoadSettings,
    });
    let reloadMark = await reloads(sys);
    const phase = async (name: string, body: () => Promise<string>) => {
      worker!.postMessage({ phase: name });
      const note = await body();
      const r = await reloads(sys);
      rows.push({ phase: name, reloads: r - reloadMark, note });
      reloadMark = r;
    };
    const patch = (replicas: number) =>
      sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, { replicas });

    await phase("steady, 3 replicas", async () => {
      await sleep(3000);
      return "";
    });

    await phase("scale 3 -> 5, one malformed pod written", async () => {
      const bad = "/registry/pods/default/img-host-test-malfd";
      await sys.reader!.put(bad, '{"metadata": {"name": "img-host-test-malfd", "annotations": ');
      const t0 = performance.now();
      await patch(5);
      let note: string;
      try {
        const ms = await sys.routesTo(await podNames(sys, 5), 15_000);
        note = `all 5 routed ${(performance.now() - t0).toFixed(0)} ms after the PATCH (routesTo ${ms} ms)`;
      } catch {
        note = "NOT all 5 routed within 15 s with the malformed pod present";
      }
      await sys.reader!.delete(bad);
      await sys.routesTo(await podNames(sys, 5), 30_000);
      return note;
    });

    await phase("scale 5 -> 1", async () => {
      const before = await podNames(sys, 5);
      const ports = await Promise.all(before.map((p) => portOf(sys, p)));
      const t0 = performance.now();
      const done = patch(1);
      // the runtime keeps the oldest: wait until 4 of the 5 ports left the upstream
      let applied = -1;
      while (performance.now() - t0 < 30_000) {
        const listed = await Promise.all(ports.map((p) => sys.routes(p)));
        if (listed.filter(Boolean).length <= 1) {
          applied = performance.now() - t0;
          break;
        }
        await sleep(5);
      }
      await done;
      const patchMs = performance.now() - t0;
      timings.push(
        `| scale-down 5 -> 1 applied to the upstream | ${applied.toFixed(0)} | 1000 | PATCH answered after ${patchMs.toFixed(0)} ms (drained, then stopped) |`,
      );
      return `upstream shrank after ${applied.toFixed(0)} ms`;
    });

    await phase("scale 1 -> 3", async () => {
      const t0 = performance.now();
      await patch(3);
      await sys.routesTo(await podNames(sys, 3), 60_000);
      return `all 3 routed after ${(performance.now() - t0).toFixed(0)} ms`;
    });

    await phase("SIGKILL one replica's app", async () => {
      const [victim] = await podNames(sys, 3);
      const port = await portOf(sys, victim);
      const { pid } = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number };
      const t0 = performance.now();
      process.kill(pid, "SIGKILL");
      const [unready, out] = await Promise.all([
        timeUntilUnroutable(sys, victim, t0),
        timeUntilOut(sys, port, t0),
      ]);
      timings.push(
        `| killed replica out of the upstream | ${out.toFixed(0)} | 1000 | Ready False in the store after ${unready.toFixed(0)} ms |`,
      );
      await sys.routesTo(await podNames(sys, 3), 60_000);
      return `out after ${out.toFixed(0)} ms, back after ${(performance.now() - t0).toFixed(0)} ms`;
    });

    await phase("SIGSTOP one replica 6 s, SIGCONT", async () => {
      const [, victim] = await podNames(sys, 3);
      const port = await portOf(sys, victim);
      const { pid } = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number };
      const t0 = performance.now();
      process.kill(pid, "SIGSTOP");
      let out: number;
      let unready: number;
      try {
        [unready, out] = await Promise.all([
          timeUntilUnroutable(sys, victim, t0),
          timeUntilOut(sys, port, t0),
        ]);
        await sleep(Math.max(0, 6000 - (performance.now() - t0)));
      } finally {
        process.kill(pid, "SIGCONT");
      }
      timings.push(
        `| hung (SIGSTOP) replica out of the upstream | ${out.toFixed(0)} | 2000 | Ready False in the store after ${unready.toFixed(0)} ms (readiness: HTTP, period 0.5 s, timeout 0.5 s, 2 failures) |`,
      );
      await sys.routesTo(await podNames(sys, 3), 60_000);
      return `out after ${out.toFixed(0)} ms, back ${(performance.now() - t0).toFixed(0)} ms after SIGSTOP`;
    });

    await phase("one pod rewrites its port 10/s for 5 s", async () => {
      // a second listener answering like the app, so each rewrite is a real, working change
      const alias = createServer((_q, s) => s.end('{"replica":"alias"}\n'));
      await new Promise<void>((r) => alias.listen(0, "127.0.0.1", r));
      const aliasPort = (alias.address() as AddressInfo).port;
      const [, , flapper] = await podNames(sys, 3);
      const real = String(await portOf(sys, flapper));
      let writes = 0;
      try {
        const t0 = performance.now();
        while (performance.now() - t0 < 5000) {
          const next = writes % 2 === 0 ? String(aliasPort) : real;
          await updatePod(sys.reader!, "default", flapper, (p) => {
            p.metadata.annotations.AUTO_PORT0 = next;
          });
          writes++;
          await sleep(Math.max(0, t0 + writes * 100 - performance.now()));
        }
        await updatePod(sys.reader!, "default", flapper, (p) => {
          p.metadata.annotations.AUTO_PORT0 = real;
        });
        await sys.routesTo(await podNames(sys, 3), 30_000);
      } finally {
        alias.close();
      }
      return `${writes + 1} port writes`;
    });

    await phase(`one pod's port changed ${SAMPLES} times (latency samples)`, async () => {
      // a second listener answering like the app, so each change is a working member
      const alias = createServer((_q, s) => s.end('{"replica":"alias"}\n'));
      await new Promise<void>((r) => alias.listen(0, "127.0.0.1", r));
      const ports = [String((alias.address() as AddressInfo).port)];
      const [, , pod] = await podNames(sys, 3);
      ports.push(String(await portOf(sys, pod)));
      try {
        for (let i = 0; i < SAMPLES; i++) {
          const port = ports[i % 2];
          const write = async () =>
            (
              await updatePodAt(sys.reader!, "default", pod, (p) => {
                p.metadata.annotations.AUTO_PORT0 = port;
              })
            )?.revision ?? 0;
          latency3.push(await changeToRouted(mode, sys.nginx!, sys.confdHealthUrl, port, write));
          // one change per sample: the reload budget (reload_min_interval 500ms) passes in reload mode
          await sleep(mode === "reload" ? 700 : 150);
        }
        if (SAMPLES % 2 === 1)
          await updatePod(sys.reader!, "default", pod, (p) => {
            p.metadata.annotations.AUTO_PORT0 = ports[1];
          });
        await sys.routesTo(await podNames(sys, 3), 30_000);
      } finally {
        alias.close();
      }
      return `p50 ${quantile(latency3, 0.5).toFixed(1)} ms, p95 ${quantile(latency3, 0.95).toFixed(1)} ms`;
    });

    // issue 11: two rollouts and a rollback under the same load
    const rolled = async (change: () => Promise<{ status: number; msg: string }>, want: string) => {
      const t0 = performance.now();
      const r = await change();
      if (r.status !== 200) throw new Error(r.msg);
      const s = await sys.rolloutComplete();
      const ms = performance.now() - t0;
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++)
        seen.add(String(((await sys.viaNginx()) as { version?: string } | null)?.version));
      return `revision ${s.revision} complete in ${ms.toFixed(0)} ms; answers after: ${[...seen].join(",")} (want ${want})`;
    };
    const setVersion = (v: string) => () =>
      sys.api("PATCH", `/api/deployments/default/${DEPLOYMENT}`, { env: { DEMO_VERSION: v } });
    await phase("rollout 1: DEMO_VERSION v2", () => rolled(setVersion("v2"), "v2"));
    await phase("rollout 2: DEMO_VERSION v3", () => rolled(setVersion("v3"), "v3"));
    await phase("rollback to the v2 revision", () =>
      rolled(async () => {
        const h = await fetch(`${sys.sa!.url}/api/deployments/default/${DEPLOYMENT}/history`, {
          headers: { authorization: `Bearer ${sys.sa!.adminToken}` },
        });
        const revs = (
          (await h.json()) as {
            result: { revision: number; spec: { env: Record<string, string> } }[];
          }
        ).result;
        const to = revs.find((x) => x.spec.env.DEMO_VERSION === "v2")!.revision;
        return sys.api("POST", `/api/deployments/default/${DEPLOYMENT}/rollback`, {
          toRevision: to,
        });
      }, "v2"),
    );

    await phase("steady, 3 replicas (end)", async () => {
      await sleep(3000);
      return "";
    });

    worker.postMessage({ stop: true });
    const stats = await new Promise<PhaseStats>((r) => worker!.once("message", r));
    return { mode, rows, stats, timings, latency3 };
  } finally {
    await worker?.terminate();
    await sys.destroy();
  }
}

/** The same-run baseline: how slow starting Node is right now (each replica starts two). */
function nodeStartMs(): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ["-e", "0"]);
  return performance.now() - t0;
}

function print({ mode, rows, stats, timings }: ModeResult): void {
  const cell = (g: { requests: number; failed: number; slowestMs: number } | undefined) =>
    g ? `${g.requests} | ${g.failed} | ${g.slowestMs.toFixed(0)}` : "0 | 0 | 0";
  const errors = (name: string) => {
    const s = stats[name];
    const all = { ...s?.keepAlive.errors };
    for (const [k, v] of Object.entries(s?.close.errors ?? {})) all[k] = (all[k] ?? 0) + v;
    const reused = (s?.keepAlive.resetReused ?? 0) + (s?.close.resetReused ?? 0);
    const list = Object.entries(all).map(([k, v]) => `${k} x${v}`);
    if (reused > 0) list.push(`(${reused} of them: reset of a reused keep-alive connection)`);
    return list.join(", ");
  };
  let failed = 0;
  for (const s of Object.values(stats)) failed += s.keepAlive.failed + s.close.failed;
  const lines = [
    `### ${mode} mode: churn, ${KIND} store, ${KEEPALIVE_CLIENTS} keep-alive clients (GET/POST) + ${CLOSE_CLIENTS} Connection: close clients, ${INTERVAL_MS} ms between requests per client`,
    `baseline in this run: node -e 0 = ${nodeStartMs().toFixed(0)} ms; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
    "",
    "| phase | keep-alive requests | failed | slowest ms | close requests | failed | slowest ms | nginx reloads | errors | note |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${cell(stats[r.phase]?.keepAlive)} | ${cell(stats[r.phase]?.close)} | ${r.reloads} | ${errors(r.phase)} | ${r.note} |`,
    ),
    "",
    `failed requests in all: ${failed} (target 0)`,
    "",
    "| event | ms | target ms | note |",
    "| --- | ---: | ---: | --- |",
    ...timings,
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

function failedOf(r: ModeResult): number {
  let failed = 0;
  for (const s of Object.values(r.stats)) failed += s.keepAlive.failed + s.close.failed;
  return failed;
}

function requestsOf(r: ModeResult, group: "keepAlive" | "close"): number {
  return Object.values(r.stats).reduce((n, s) => n + s[group].requests, 0);
}

function summary(results: ModeResult[], scale: ScaleResult[]): void {
  const ms = (xs: number[], q: number) =>
    quantile(
      xs.filter((x) => x >= 0),
      q,
    ).toFixed(1);
  const lost = (xs: number[]) => xs.filter((x) => x < 0).length;
  const lines = [
    "### dynamic vs reload, same run",
    "",
    "| mode | reloads (whole churn) | keep-alive requests | close requests | failed | change -> routed at 3 pods p50 / p95 ms |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.rows.reduce((n, x) => n + x.reloads, 0)} | ${requestsOf(r, "keepAlive")} | ${requestsOf(r, "close")} | ${failedOf(r)} | ${ms(r.latency3, 0.5)} / ${ms(r.latency3, 0.95)}${lost(r.latency3) ? ` (${lost(r.latency3)} never)` : ""} |`,
    ),
    "",
    "| mode | pods in the store (routed) | confd start -> applied ms | reloads during samples | change -> routed p50 / p95 ms | samples |",
    "| --- | ---: | ---: | ---: | --- | ---: |",
    ...scale.map(
      (s) =>
        `| ${s.mode} | ${s.pods} (${s.routed}) | ${s.startMs.toFixed(0)} | ${s.reloads} | ${ms(s.samples, 0.5)} / ${ms(s.samples, 0.95)}${lost(s.samples) ? ` (${lost(s.samples)} never)` : ""} | ${s.samples.length} |`,
    ),
    "",
    "change -> routed: dynamic, the store write until nginx's member list holds the new port (Lua endpoint generation);",
    "reload, until confd's appliedRevision reaches the write (file checked, nginx reloaded, new workers took over).",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

const results: ModeResult[] = [];
for (const mode of args["no-churn"] ? [] : MODES) {
  const r = await run(mode);
  print(r);
  results.push(r);
}
const scale: ScaleResult[] = [];
for (const pods of PODS)
  for (const mode of MODES) scale.push(await latencyAtScale(KIND, mode, pods, SAMPLES));
summary(results, scale);
