// The clusters this server serves: each one a store plus the per-store
// services (annotation merger, port ledger and its reaper, deployments).
import type { Store } from "../../store/store.js";
import { PodAnnotator } from "../agent/pod-annotator.js";
import type { ServerConfig } from "../config/config.js";
import { DeploymentRepository } from "../deploy/repository.js";
import { notFound } from "../http/errors.js";
import type { Logger } from "../log/logger.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import { hostOfKey, LEDGER_PREFIX } from "../ports/keys.js";
import { PortLedger } from "../ports/ledger.js";
import { PortReaper } from "../ports/reaper.js";
import { openClusterStore } from "./open-store.js";

export interface Cluster {
  name: string;
  store: Store;
  /** true when the server opened the store (and closes it). */
  ownsStore: boolean;
  annotator: PodAnnotator;
  ledger: PortLedger;
  reaper: PortReaper;
  deployments: DeploymentRepository;
}

export class ClusterRegistry {
  private readonly clusters = new Map<string, Cluster>();

  private constructor() {}

  /** Open every configured store (closing the opened ones again if one fails). */
  static async open(
    cfg: ServerConfig,
    metrics: ServerMetrics,
    log: Logger,
  ): Promise<ClusterRegistry> {
    const reg = new ClusterRegistry();
    try {
      for (const [name, spec] of Object.entries(cfg.clusters)) {
        const store = typeof spec === "string" ? await openClusterStore(spec, cfg.dataDir) : spec;
        reg.add(name, store, typeof spec === "string", cfg, metrics, log);
      }
    } catch (err) {
      await reg.close();
      throw err;
    }
    return reg;
  }

  private add(
    name: string,
    store: Store,
    ownsStore: boolean,
    cfg: ServerConfig,
    metrics: ServerMetrics,
    log: Logger,
  ): void {
    const annotator = new PodAnnotator(store, {
      onCasRetry: () => metrics.casRetries.inc({ cluster: name }),
    });
    const ledger = new PortLedger(store, {
      range: cfg.portRange,
      externalHoldMs: cfg.externalHoldMs,
      onAllocated: (host, n) => metrics.portsAllocated.inc({ cluster: name, host }, n),
    });
    const reaper = new PortReaper(store, ledger, {
      sweepIntervalMs: cfg.sweepIntervalMs,
      graceMs: Math.min(60_000, cfg.sweepIntervalMs),
      log,
      cluster: name,
      onFreed: (n) => metrics.portsFreed.inc({ cluster: name }, n),
    });
    const deployments = new DeploymentRepository(store, name);
    this.clusters.set(name, { name, store, ownsStore, annotator, ledger, reaper, deployments });
  }

  /** The cluster of an agent/admin request; 404 names the configured ones. */
  get(name: string): Cluster {
    const c = this.clusters.get(name);
    if (!c) {
      throw notFound(
        `unknown cluster ${JSON.stringify(name)}; this server serves: ${[...this.clusters.keys()].join(", ")}`,
      );
    }
    return c;
  }

  all(): Cluster[] {
    return [...this.clusters.values()];
  }

  startReapers(): void {
    for (const c of this.clusters.values()) c.reaper.start();
  }

  /** Ledger records per cluster and host (metrics). */
  async usage(): Promise<{ cluster: string; host: string; used: number }[]> {
    const out: { cluster: string; host: string; used: number }[] = [];
    for (const c of this.clusters.values()) {
      const counts = new Map<string, number>();
      for (const kv of (await c.store.list(LEDGER_PREFIX)).kvs) {
        const h = hostOfKey(kv.key);
        counts.set(h, (counts.get(h) ?? 0) + 1);
      }
      for (const [host, used] of counts) out.push({ cluster: c.name, host, used });
    }
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.clusters.values()) {
      await c.reaper.close();
      if (c.ownsStore) await c.store.close().catch(() => {});
    }
  }
}
