// Gives ports back: on every pod deletion seen by a watch, and in a periodic
// sweep that catches what the watch missed (server down, watch compacted,
// allocations interrupted halfway, expired "external" records).
import {
  podKey,
  type Store,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
} from "../../store/store.js";
import type { Logger } from "../log/logger.js";
import {
  ASSIGNMENT_PREFIX,
  assignmentKey,
  hostOfKey,
  LEDGER_PREFIX,
  parseAssignment,
  parseGrants,
  parseRecord,
  portOfKey,
  QUOTA_PREFIX,
} from "./keys.js";
import type { PortLedger } from "./ledger.js";

const PODS_PREFIX = "/registry/pods/";

export interface ReaperOptions {
  sweepIntervalMs: number;
  /** Records younger than this are never swept (an allocation may be in flight). */
  graceMs: number;
  log: Logger;
  cluster: string;
  onFreed?: (n: number) => void;
}

export class PortReaper {
  private watch: Watch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Last revision seen by the watch: a restarted watch resumes after it, so no deletion is missed. */
  private lastRevision: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly ledger: PortLedger,
    private readonly opts: ReaperOptions,
  ) {}

  start(): void {
    void this.startWatch();
    this.timer = setInterval(() => void this.sweepLogged(), this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.watch?.close().catch(() => {});
  }

  private async startWatch(): Promise<void> {
    while (!this.closed) {
      try {
        this.lastRevision ??= await this.store.revision(PODS_PREFIX);
        this.watch = await watchDeletions(this.store, PODS_PREFIX, this.lastRevision + 1, {
          onEvents: (events, revision) => {
            this.lastRevision = Math.max(this.lastRevision ?? 0, revision);
            void this.onEvents(events);
          },
          onError: (err) => {
            this.opts.log.warn("pod watch ended; restarting and sweeping", {
              cluster: this.opts.cluster,
              err,
            });
            // Compacted: the missed deletions are gone from history; the sweep covers them.
            if (err.name === "CompactedError") this.lastRevision = null;
            this.watch = null;
            if (!this.closed) setTimeout(() => void this.restart(), 1000).unref();
          },
        });
        return;
      } catch (err) {
        this.opts.log.warn("cannot watch pods yet; retrying", { cluster: this.opts.cluster, err });
        await new Promise((r) => setTimeout(r, 2000).unref());
      }
    }
  }

  private async restart(): Promise<void> {
    await this.sweepLogged();
    await this.startWatch();
  }

  private async onEvents(events: WatchEvent[]): Promise<void> {
    for (const ev of events) {
      if (ev.type === "delete")
        this.opts.log.debug("pod deleted", { cluster: this.opts.cluster, key: ev.key });
      if (ev.type !== "delete") continue;
      const rest = ev.key.slice(PODS_PREFIX.length).split("/");
      if (rest.length !== 2) continue;
      const [ns, pod] = rest as [string, string];
      try {
        // A pod re-created under the same name keeps its ports (sticky).
        if (await this.store.get(podKey(ns, pod))) continue;
        const n = await this.ledger.freePod(ns, pod);
        if (n > 0) {
          this.opts.log.info("freed ports of deleted pod", {
            cluster: this.opts.cluster,
            pod: `${ns}/${pod}`,
            ports: n,
          });
          this.opts.onFreed?.(n);
        }
      } catch (err) {
        this.opts.log.warn("freeing ports of a deleted pod failed; the sweep will retry", {
          pod: `${ns}/${pod}`,
          err,
        });
      }
    }
  }

  private async sweepLogged(): Promise<void> {
    try {
      const n = await this.sweep();
      if (n > 0) this.opts.log.info("sweep freed ports", { cluster: this.opts.cluster, ports: n });
    } catch (err) {
      this.opts.log.warn("port sweep failed", { cluster: this.opts.cluster, err });
    }
  }

  /** One pass: free ports of pods that no longer exist and expired external records. */
  async sweep(now = Date.now()): Promise<number> {
    let freed = 0;
    const exists = new Map<string, boolean>();
    const podExists = async (ns: string, pod: string) => {
      const k = podKey(ns, pod);
      let e = exists.get(k);
      if (e === undefined) {
        e = (await this.store.get(k)) !== null;
        exists.set(k, e);
      }
      return e;
    };
    for (const kv of (await this.store.list(ASSIGNMENT_PREFIX)).kvs) {
      const [ns, pod] = kv.key.slice(ASSIGNMENT_PREFIX.length).split("/") as [string, string];
      const a = parseAssignment(kv.value);
      if (a && now - Date.parse(a.allocatedAt) < this.opts.graceMs) continue;
      if (!(await podExists(ns, pod))) freed += await this.ledger.freePod(ns, pod);
    }
    // Grants left without assignments (a request interrupted between the two).
    for (const kv of (await this.store.list(QUOTA_PREFIX)).kvs) {
      const [ns, pod] = kv.key.slice(QUOTA_PREFIX.length).split("/") as [string, string];
      const g = parseGrants(kv.value);
      if (g && now - Date.parse(g.updatedAt) < this.opts.graceMs) continue;
      if (!(await podExists(ns, pod)))
        await this.store.delete(kv.key, { expectModRevision: kv.modRevision });
    }
    for (const kv of (await this.store.list(LEDGER_PREFIX)).kvs) {
      const r = parseRecord(kv.value);
      let stale = false;
      if (!r) stale = true;
      else if (r.kind === "external") stale = Date.parse(r.until) <= now;
      else if (now - Date.parse(r.allocatedAt) >= this.opts.graceMs) {
        // An orphan: its pod is gone, or no assignment lists this port.
        const a = await this.store.get(assignmentKey(r.namespace, r.pod, r.container));
        const as = a ? parseAssignment(a.value) : null;
        stale = !as || as.host !== hostOfKey(kv.key) || !as.ports.includes(portOfKey(kv.key));
      }
      if (stale) {
        const d = await this.store.delete(kv.key, { expectModRevision: kv.modRevision });
        if (d.ok) freed++;
      }
    }
    if (freed > 0) this.opts.onFreed?.(freed);
    return freed;
  }
}

/**
 * Watch only deletions where the store can filter them at the source (etcd:
 * the pod watch then does not receive every annotation write); elsewhere a
 * plain watch, whose puts onEvents skips.
 */
function watchDeletions(
  store: Store,
  prefix: string,
  fromRevision: number,
  handlers: WatchHandlers,
): Promise<Watch> {
  const s = store as Store & { watchDeletions?: Store["watch"] };
  return typeof s.watchDeletions === "function"
    ? s.watchDeletions(prefix, fromRevision, handlers)
    : store.watch(prefix, fromRevision, handlers);
}
