// Change -> nginx routes by it, for the churn benchmark (bench/churn.ts), in
// both nginx modes:
//   dynamic: from the store write until nginx's member list (the Lua
//            endpoint's generation moved and the list holds the new port);
//   reload:  from the store write until confd's /healthz appliedRevision
//            reaches the write's revision (its reload_cmd returns once the new
//            workers took over), and until the rendered file has it.
// At N pods in the store (10,000 by default: 3-5 KB Kubernetes-shaped pods,
// about half of them rendered) with the real domeos-confd and nginx and no
// server: the pods are objects only.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoConfd } from "../src/main/demo-confd.js";
import { DemoNginx, UPSTREAM_NAME } from "../src/main/demo-nginx.js";
import { EmbeddedStore } from "../src/store/embedded.js";
import { EtcdStore } from "../src/store/etcd.js";
import type { Store } from "../src/store/store.js";
import { confdMetric } from "../test/e2e/system.js";
import { EtcdServer } from "../test/support/etcd.js";
import { freePort } from "../test/support/ports.js";
import { generatePods, rendered } from "./confd-pods.js";

export type Mode = "dynamic" | "reload";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

/** The generation of the upstream's list in nginx (0: none pushed). */
export async function memberGeneration(nginx: DemoNginx): Promise<number> {
  const s = (await (await fetch(nginx.membersUrl)).json()) as {
    upstreams: { upstream: string; generation: number }[];
  };
  return s.upstreams.find((u) => u.upstream === UPSTREAM_NAME)?.generation ?? 0;
}

async function members(nginx: DemoNginx): Promise<string> {
  return (await fetch(`${nginx.membersUrl}/${UPSTREAM_NAME}`)).text();
}

export async function appliedRevision(healthUrl: string): Promise<number> {
  try {
    const h = (await (await fetch(healthUrl)).json()) as {
      resources: { appliedRevision?: number }[];
    };
    return h.resources[0]?.appliedRevision ?? 0;
  } catch {
    return 0;
  }
}

/**
 * ms from `write` (resolving to the store revision written) until nginx
 * routes by it: dynamic, the member list holds `port`; reload, confd applied
 * the revision (reloaded). -1 after 30 s.
 */
export async function changeToRouted(
  mode: Mode,
  nginx: DemoNginx,
  healthUrl: string,
  port: string,
  write: () => Promise<number>,
): Promise<number> {
  const gen0 = mode === "dynamic" ? await memberGeneration(nginx) : 0;
  const t0 = performance.now();
  const revision = await write();
  while (performance.now() - t0 < 30_000) {
    if (mode === "dynamic") {
      if ((await memberGeneration(nginx)) > gen0 && (await members(nginx)).includes(`:${port}`))
        return performance.now() - t0;
    } else if ((await appliedRevision(healthUrl)) >= revision) {
      return performance.now() - t0;
    }
    // 5 ms: finer polling takes CPU from confd and nginx on a 2-core machine
    await sleep(5);
  }
  return -1;
}

export interface ScaleResult {
  mode: Mode;
  pods: number;
  routed: number;
  samples: number[];
  reloads: number;
  startMs: number;
}

/** `pods` pod objects in a fresh store, confd and nginx in `mode`; `samples` port changes of one routed pod. */
export async function latencyAtScale(
  kind: "embedded" | "etcd",
  mode: Mode,
  pods: number,
  samples: number,
): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), `churn-${mode}-${pods}-`));
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  let etcd: EtcdServer | null = null;
  let store: Store;
  if (kind === "etcd") {
    etcd = new EtcdServer(join(dir, "etcd"));
    await etcd.start();
    store = new EtcdStore({ endpoints: [etcd.endpoint] });
  } else {
    store = new EmbeddedStore(join(dataDir, "store"));
  }
  const nginx = new DemoNginx(
    join(dir, "nginx"),
    await freePort(),
    mode === "dynamic" ? { membersPort: await freePort() } : undefined,
  );
  let confd: DemoConfd | null = null;
  try {
    // a handful: every pod routed; thousands: about half (other deployments, Pending pods)
    const all = generatePods(pods, 42, pods <= 100 ? 1 : 0.5);
    let revision = 0;
    for (let i = 0; i < all.length; i += 200)
      for (const r of await Promise.all(
        all.slice(i, i + 200).map((p) => store.put(p.key, p.value)),
      ))
        revision = Math.max(revision, r.revision);
    const routedPods = all.filter((p) => rendered(p.spec));
    nginx.configure();
    await nginx.start();
    confd = new DemoConfd({
      confdir: join(dir, "confd"),
      backend: kind === "etcd" ? "etcdv3" : "embedded",
      node: kind === "etcd" ? etcd!.endpoint : dataDir,
      dest: nginx.upstreamPath,
      checkCmd: nginx.checkCmd(),
      reloadCmd: nginx.reloadCmd(),
      metricsPort: await freePort(),
      logPath: join(dir, "confd.log"),
      dynamic: nginx.dynamic && { endpoint: nginx.membersUrl, secretFile: nginx.secretFile },
    });
    confd.writeConfig();
    const t0 = performance.now();
    confd.start();
    while ((await appliedRevision(confd.healthUrl)) < revision) {
      if (performance.now() - t0 > 180_000)
        throw new Error(
          `confd did not apply ${pods} pods in 180 s: ${readFileSync(join(dir, "confd.log"), "utf8").slice(-2000)}`,
        );
      await sleep(50);
    }
    const startMs = performance.now() - t0;
    const reloads0 = await confdMetric(confd.healthUrl, "confd_reloads_total", 'result="ok"');
    const target = routedPods[Math.floor(routedPods.length / 2)];
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const port = String(40000 + i);
      const value = target.value.replace(/"AUTO_PORT0":"\d+"/, `"AUTO_PORT0":"${port}"`);
      out.push(
        await changeToRouted(
          mode,
          nginx,
          confd.healthUrl,
          port,
          async () => (await store.put(target.key, value)).revision,
        ),
      );
      // reload mode: let the reload budget (reload_min_interval 500ms) pass, so each sample is one change
      await sleep(mode === "reload" ? 700 : 100);
    }
    if (process.env.CHURN_DEBUG) {
      const m = await (await fetch(confd.healthUrl.replace("/healthz", "/metrics"))).text();
      process.stderr.write(
        `${m
          .split("\n")
          .filter((l) => /^confd_(change_to|render_seconds)\w*_(sum|count)/.test(l))
          .join("\n")}\n`,
      );
    }
    return {
      mode,
      pods,
      routed: routedPods.length,
      samples: out,
      reloads:
        (await confdMetric(confd.healthUrl, "confd_reloads_total", 'result="ok"')) - reloads0,
      startMs,
    };
  } finally {
    await confd?.stop();
    await nginx.stop();
    await store.close();
    await etcd?.destroy();
    if (process.env.CHURN_DEBUG) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
