// Bringing stored deployments back when the server starts, for runtimes whose
// pods live and die with the server (local processes). The first pass runs
// before startServer() returns; a cluster whose store does not answer (or a
// deployment that failed to start) is retried in the background with
// backoff, so the server still starts during a store outage (/readyz tells)
// and converges when the store is back.
import { Backoff } from "../../retry/backoff.js";
import type { Cluster, ClusterRegistry } from "../cluster/registry.js";
import type { Logger } from "../log/logger.js";
import { deployContext } from "./routes.js";
import type { PodRuntime } from "./runtime.js";

export interface ResumeDeps {
  secret: string;
  serverAddr: () => string;
  log: Logger;
  /** First retry delay (ms); doubles up to 30 s. */
  retryMs?: number;
}

export interface Resumer {
  /** No more retries (the server is closing). */
  stop(): void;
}

export async function resumeDeployments(
  clusters: ClusterRegistry,
  runtime: PodRuntime,
  deps: ResumeDeps,
): Promise<Resumer> {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  if (!runtime.resume) return { stop: () => {} };
  const retry = (c: Cluster, backoff: Backoff) => {
    const t = setTimeout(async () => {
      timers.delete(t);
      if (stopped) return;
      if (!(await resumeCluster(c, runtime, deps))) retry(c, backoff);
      else deps.log.info("stored deployments brought back", { cluster: c.name });
    }, backoff.next());
    t.unref();
    timers.add(t);
  };
  for (const c of clusters.all()) {
    if (!(await resumeCluster(c, runtime, deps)))
      retry(c, new Backoff({ initialMs: deps.retryMs ?? 1000, maxMs: 30_000 }));
  }
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/** One pass over a cluster's deployments; false when something must be retried. */
async function resumeCluster(c: Cluster, runtime: PodRuntime, deps: ResumeDeps): Promise<boolean> {
  let ok = true;
  try {
    for (const d of await c.deployments.list()) {
      try {
        await runtime.resume?.(d, deployContext(d, deps));
      } catch (err) {
        // one deployment that cannot run must not keep the others down
        ok = false;
        deps.log.warn("cannot bring back a stored deployment yet (will retry)", {
          deployment: `${d.cluster}/${d.namespace}/${d.name}`,
          err,
        });
      }
    }
  } catch (err) {
    deps.log.warn("cannot list stored deployments yet (will retry)", {
      cluster: c.name,
      store: c.store.description,
      err,
    });
    return false;
  }
  return ok;
}
