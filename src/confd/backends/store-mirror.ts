// A confd backend over any `Store` (etcd v3, the embedded store, the
// Kubernetes adapter): one consistent snapshot of the resource keys at start,
// then a watch from the next revision that keeps an in-memory mirror current.
// A pod change costs one event, never a full re-read (confd re-reads and
// re-renders everything on every change under the prefix).
//
// Failure handling, where confd is silent or blind (reference §7, §11):
// - watch compacted past our revision: re-list, swap, resume (listeners get null);
// - connection lost: logged, status().connected=false with since/lastError,
//   reconnect with exponential backoff capped at `maxBackoffMs` (1 s), resume
//   from the last revision so nothing is missed;
// - revision reset (store wiped, restored or replaced): on every reconnect the
//   store's revision and one known key are checked against the view; any
//   mismatch re-lists instead of silently waiting for the old revision.
// The view is only ever swapped to a *complete* new snapshot.

import { Backoff } from "../../retry/backoff.js";
import type { EtcdClient } from "../../store/etcd/client.js";
import {
  CompactedError,
  type KeyValue,
  type ListResult,
  type Store,
  StoreUnavailableError,
  type Watch,
  type WatchEvent,
} from "../../store/store.js";
import { phase } from "../log/phase-trace.js";
import type { Backend, BackendOptions, BackendStatus, ChangeListener, KVView } from "./backend.js";
import { coveringPrefixes, underPrefix } from "./exact-prefix.js";
import { MirrorView } from "./mirror-view.js";
import { DEFAULT_GUARD, type SnapshotGuardOptions, sameKeys, suspicion } from "./snapshot-guard.js";

export interface MirrorOptions {
  /** Backend name for logs and status ("etcdv3", "embedded", "kubernetes"). */
  name: string;
  /** false (onetime): load the snapshot and stop; no watch, no retry. */
  watch: boolean;
  log?: BackendOptions["log"];
  /** First reconnect delay (ms), doubled per failed attempt. Default 100. */
  initialBackoffMs?: number;
  /** Reconnect delay cap (ms). Default 1000: a recovered store is seen within ~1 s. */
  maxBackoffMs?: number;
  /** Liveness probe period while connected (ms); 0 disables. Default 2000. */
  probeIntervalMs?: number;
  /** Timeout for the mirror's small requests (revision, get, watch start) in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Close the store when the backend is closed (the backend created it). */
  ownsStore?: boolean;
  /**
   * Read a key as of a past revision (etcd can); throws CompactedError when
   * that revision is gone. Makes the reset check exact: the store we return
   * to must agree with the view at the view's own revision.
   */
  readAt?: (key: string, revision: number) => Promise<KeyValue | null>;
  /** Which snapshots are held for a confirming re-read (snapshot-guard.ts). */
  snapshotGuard?: SnapshotGuardOptions;
  /** The store's etcd client (etcd backends): reported on /metrics. */
  etcdClient?: EtcdClient;
}

/** What the mirror reports beyond BackendStatus (for metrics and health). */
export interface MirrorStatus extends BackendStatus {
  /** Number of keys in the view. */
  keys: number;
  /** Times the connection was lost. */
  disconnects: number;
  /** Full re-lists after start (compaction, reset, unverifiable resume). */
  relists: number;
  /** Revision resets detected. */
  resets: number;
  /** Watch batches applied. */
  batches: number;
  holds: number;
}

/** One consistent read of every prefix. */
interface Snapshot {
  map: Map<string, string>;
  revs: Map<string, number>;
  probe: Probe | null;
}

/** The last key written (as the view saw it): the reset check compares it with the store. */
interface Probe {
  key: string;
  modRevision: number;
  createRevision: number;
  /** The view's last event for the key was its delete (modRevision = the delete's). */
  deleted: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Verdict = "same" | "differs" | "unknown";

/** The store is not the one the view came from (wiped, restored, replaced): re-list. */
class RevisionResetError extends Error {
  override name = "RevisionResetError";
}

/** A snapshot failed its consistency check: it is never applied; read again. */
export class InconsistentSnapshotError extends Error {
  override name = "InconsistentSnapshotError";
}

export class StoreMirror implements Backend {
  readonly name: string;
  private readonly opts: Required<
    Omit<MirrorOptions, "log" | "readAt" | "snapshotGuard" | "etcdClient">
  > &
    Pick<MirrorOptions, "log" | "readAt" | "etcdClient">;
  private readonly guard: Required<SnapshotGuardOptions>;
  private readonly mirror = new MirrorView();
  private prefixes: string[] = [];
  /** Per-prefix revision the view reflects (lists of several prefixes may differ). */
  private readonly revs = new Map<string, number>();
  private watches: Watch[] = [];
  private readonly listeners: ChangeListener[] = [];
  private readonly st: MirrorStatus = {
    connected: false,
    since: Date.now(),
    keys: 0,
    disconnects: 0,
    relists: 0,
    resets: 0,
    batches: 0,
    holds: 0,
  };
  private probe: Probe | null = null;
  /** The current outage, for rate-limited logging. */
  private outage: { kind: string; attempts: number; loggedAt: number } | null = null;
  /** Bumped whenever the watches are torn down: late callbacks of old watches are ignored. */
  private epoch = 0;
  private recovering: Promise<void> | null = null;
  private pendingFault: Error | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private loaded = false;

  constructor(
    private readonly store: Store,
    opts: MirrorOptions,
  ) {
    this.name = opts.name;
    this.opts = {
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      probeIntervalMs: 2000,
      requestTimeoutMs: 5000,
      ownsStore: false,
      ...opts,
    };
    this.guard = { ...DEFAULT_GUARD, ...opts.snapshotGuard };
  }

  async start(prefixes: string[]): Promise<void> {
    this.prefixes = coveringPrefixes(prefixes);
    if (!this.opts.watch) {
      await this.relist();
      this.setConnected(true);
      return;
    }
    this.recovering = this.recover(null);
    await this.recovering;
    this.recovering = null;
    if (this.closed) throw new Error(`${this.name}: closed before the first snapshot`);
    this.startProbe();
  }

  view(): KVView {
    return this.mirror;
  }

  etcdClient(): EtcdClient | undefined {
    return this.opts.etcdClient;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  status(): MirrorStatus {
    return { ...this.st, revision: this.currentRevision(), keys: this.mirror.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    await this.closeWatches();
    if (this.opts.ownsStore) await this.store.close();
  }

  // ---- snapshot ------------------------------------------------------------

  /**
   * Read a consistent snapshot, hold it for confirmation when it is
   * suspicious (snapshot-guard.ts), then swap it into the view.
   */
  private async relist(): Promise<void> {
    let snap = await this.readSnapshot();
    const why = suspicion(
      this.loaded ? this.mirror.size : undefined,
      snap.map.size,
      this.guard.maxLoss,
    );
    if (why !== null) snap = await this.confirm(snap, why);
    this.revs.clear();
    for (const [prefix, rev] of snap.revs) this.revs.set(prefix, rev);
    this.probe = snap.probe;
    this.mirror.replace(snap.map);
    phase("snapshot in view");
    const wasLoaded = this.loaded;
    this.loaded = true;
    this.log("debug", "snapshot loaded", { keys: snap.map.size, revision: this.currentRevision() });
    if (wasLoaded) {
      this.st.relists++;
      this.emit(null);
    }
  }

  /**
   * List every prefix at one common revision. A snapshot that fails this
   * consistency check (prefixes at different revisions after a few tries, a
   * key newer than its listing) is never applied: it throws, and the
   * recovery loop retries with backoff.
   */
  private async readSnapshot(): Promise<Snapshot> {
    let results: ListResult[] = [];
    for (let attempt = 0; ; attempt++) {
      // No overall deadline: 40 MB of pods may take seconds on a busy host, and a
      // fixed one would retry forever. The stores bound each page request instead.
      results = await Promise.all(this.prefixes.map((p) => this.store.list(p)));
      if (new Set(results.map((r) => r.revision)).size <= 1) break;
      if (attempt >= 4)
        throw new InconsistentSnapshotError(
          `prefixes listed at different revisions (${results.map((r) => r.revision).join(", ")}) after ${attempt + 1} tries`,
        );
    }
    phase("snapshot read");
    const map = new Map<string, string>();
    const revs = new Map<string, number>();
    let probe: Probe | null = null;
    results.forEach((res, i) => {
      const prefix = this.prefixes[i];
      for (const kv of res.kvs) {
        if (!underPrefix(kv.key, prefix)) continue;
        if (kv.modRevision > res.revision)
          throw new InconsistentSnapshotError(
            `key ${kv.key} has mod revision ${kv.modRevision}, above its listing's revision ${res.revision}`,
          );
        map.set(kv.key, kv.value);
        if (probe === null || kv.modRevision > probe.modRevision) probe = probeOf(kv);
      }
      revs.set(prefix, res.revision);
    });
    return { map, revs, probe };
  }

  /**
   * Hold a suspicious snapshot: re-read after a short delay until a re-read
   * confirms it (same keys, or no longer suspicious), at most maxHoldMs.
   * The view keeps its last content meanwhile.
   */
  private async confirm(first: Snapshot, why: string): Promise<Snapshot> {
    const { confirmDelayMs, maxHoldMs, maxLoss } = this.guard;
    const since = Date.now();
    const current = this.loaded ? this.mirror.size : undefined;
    this.st.holds++;
    this.st.held = { reason: why, since, keys: first.map.size };
    this.log("warning", "holding a suspicious snapshot: re-reading to confirm", {
      reason: why,
      viewKeys: current,
      snapshotKeys: first.map.size,
      confirmInMs: confirmDelayMs,
    });
    try {
      let prev = first;
      for (;;) {
        await sleep(confirmDelayMs);
        if (this.closed) throw new Error(`${this.name}: closed while confirming a snapshot`);
        const next = await this.readSnapshot();
        const still = suspicion(current, next.map.size, maxLoss);
        const held = Date.now() - since;
        if (still === null || sameKeys(prev.map, next.map) || held >= maxHoldMs) {
          const verdict =
            still === null
              ? "the re-read is not suspicious"
              : sameKeys(prev.map, next.map)
                ? "confirmed by a re-read"
                : `still changing after ${held} ms: applying the latest consistent read`;
          this.log("warning", `suspicious snapshot: ${verdict}; applying it`, {
            keys: next.map.size,
            heldMs: held,
          });
          return next;
        }
        this.st.held = { reason: why, since, keys: next.map.size };
        prev = next;
      }
    } finally {
      this.st.held = undefined;
    }
  }

  private currentRevision(): number {
    let max = 0;
    for (const r of this.revs.values()) max = Math.max(max, r);
    return max;
  }

  // ---- watch ---------------------------------------------------------------

  private async openWatches(): Promise<void> {
    const epoch = this.epoch;
    for (const prefix of this.prefixes) {
      const from = (this.revs.get(prefix) ?? 0) + 1;
      const w = await this.timed(
        this.store.watch(prefix, from, {
          onEvents: (events, revision) => {
            if (epoch === this.epoch) this.apply(prefix, events, revision);
          },
          onError: (err) => {
            if (epoch === this.epoch) this.fault(err);
          },
        }),
        "watch",
        (late) => late.close(),
      );
      if (epoch !== this.epoch || this.closed) {
        await w.close().catch(() => {});
        return;
      }
      this.watches.push(w);
    }
  }

  /** Apply one watch batch to the view; tell listeners which keys changed. */
  private apply(prefix: string, events: WatchEvent[], revision: number): void {
    const seen = this.revs.get(prefix) ?? 0;
    const changed: string[] = [];
    for (const ev of events) {
      const key = ev.type === "put" ? ev.kv.key : ev.key;
      const rev = ev.type === "put" ? ev.kv.modRevision : ev.modRevision;
      if (rev <= seen || !underPrefix(key, prefix)) continue;
      if (ev.type === "put") {
        if (this.mirror.set(key, ev.kv.value)) changed.push(key);
        this.probe = probeOf(ev.kv);
      } else {
        if (this.mirror.delete(key)) changed.push(key);
        if (this.probe?.key === key)
          this.probe = { ...this.probe, modRevision: rev, deleted: true };
      }
    }
    this.revs.set(prefix, Math.max(seen, revision));
    this.st.batches++;
    if (changed.length > 0) this.emit(changed);
  }

  private emit(changed: string[] | null): void {
    for (const l of this.listeners) {
      try {
        l(changed);
      } catch (err) {
        this.log("error", "change listener failed", { error: errText(err) });
      }
    }
  }

  private async closeWatches(): Promise<void> {
    this.epoch++;
    const ws = this.watches;
    this.watches = [];
    await Promise.all(ws.map((w) => w.close().catch(() => {})));
  }

  // ---- failures and recovery ----------------------------------------------

  /** A watch ended or the probe failed: tear down and recover (once at a time). */
  private fault(err: Error): void {
    if (this.closed) return;
    if (this.recovering) {
      // Compaction must win over a plain error: it forces a re-list.
      if (!forcesRelist(this.pendingFault)) this.pendingFault = err;
      return;
    }
    this.recovering = this.recover(err).finally(() => {
      this.recovering = null;
    });
  }

  /**
   * Loop until the view is complete and watched again: check for a revision
   * reset, re-list when needed, re-open the watches. Failed attempts back off
   * exponentially, capped at maxBackoffMs.
   */
  private async recover(cause: Error | null): Promise<void> {
    const backoff = new Backoff({
      initialMs: this.opts.initialBackoffMs,
      maxMs: this.opts.maxBackoffMs,
      jitter: 0.2,
    });
    let mustRelist = !this.loaded || forcesRelist(cause);
    if (cause) this.noteFault(cause);
    await this.closeWatches();
    while (!this.closed) {
      try {
        if (!mustRelist) mustRelist = await this.resetDetected();
        if (mustRelist) await this.relist();
        mustRelist = false;
        await this.openWatches();
        const late = this.pendingFault;
        this.pendingFault = null;
        if (late) throw late;
        this.setConnected(true);
        return;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        await this.closeWatches();
        if (forcesRelist(e)) {
          this.noteFault(e);
          mustRelist = true;
          continue;
        }
        this.noteFault(e);
        await sleep(backoff.next());
      }
    }
  }

  /** Record a failure in the status and the log (compaction is not an outage). */
  private noteFault(err: Error): void {
    if (err instanceof RevisionResetError) return; // logged where it was detected
    if (err instanceof CompactedError) {
      this.log("warning", "watch compacted past the view's revision: re-listing", {
        revision: this.currentRevision(),
        compactRevision: err.compactRevision,
      });
      return;
    }
    this.st.lastError = err.message;
    if (this.st.connected) {
      this.st.disconnects++;
      this.setConnected(false);
      this.outage = { kind: errorKind(err), attempts: 0, loggedAt: Date.now() };
      this.log("error", "store connection lost: view frozen at last revision, reconnecting", {
        revision: this.currentRevision(),
        error: err.message,
      });
      return;
    }
    // While down: log a new kind of failure at once, the same one every 30 s.
    const o = this.outage;
    const kind = errorKind(err);
    if (o === null || o.kind !== kind || Date.now() - o.loggedAt >= 30_000) {
      const attempts = o ? o.attempts + 1 : 1;
      this.outage = { kind, attempts: 0, loggedAt: Date.now() };
      this.log("error", "store unavailable, retrying", { error: err.message, attempts });
    } else {
      o.attempts++;
    }
  }

  private setConnected(connected: boolean): void {
    if (this.st.connected === connected) return;
    const was = this.st.since ?? Date.now();
    this.st.connected = connected;
    this.st.since = Date.now();
    if (connected) this.outage = null;
    if (connected && this.loaded) {
      this.log("info", "store connection up: watching", {
        revision: this.currentRevision(),
        downMs: this.st.disconnects > 0 ? this.st.since - was : undefined,
      });
    }
  }

  /**
   * After a reconnect: is this still the store our view came from? A lower
   * revision, or a known key whose history differs, means it was wiped,
   * restored or replaced (confd then waits blindly for its old revision).
   */
  private async resetDetected(): Promise<boolean> {
    const viewRev = this.currentRevision();
    const storeRev = await this.timed(this.store.revision(), "revision");
    if (storeRev < viewRev) {
      this.noteReset(`store revision ${storeRev} is below the view's ${viewRev}`);
      return true;
    }
    const probe = this.probe;
    if (probe === null) return false;
    const verdict = this.opts.readAt
      ? await this.compareAt(probe, viewRev, this.opts.readAt)
      : await this.compareNow(probe, viewRev);
    if (verdict === "differs") {
      this.noteReset(`key ${probe.key} has a different history than the view`);
    } else if (verdict === "unknown") {
      this.log("info", "cannot verify the store against the view: re-listing", { key: probe.key });
    }
    return verdict !== "same";
  }

  /** Exact: at the view's revision the store must hold what the view holds. */
  private async compareAt(
    probe: Probe,
    viewRev: number,
    readAt: (key: string, revision: number) => Promise<KeyValue | null>,
  ): Promise<Verdict> {
    let kv: KeyValue | null;
    try {
      kv = await this.timed(readAt(probe.key, viewRev), "read at revision");
    } catch (err) {
      if (err instanceof CompactedError) return "unknown"; // the watch could not resume either
      throw err;
    }
    if (probe.deleted) return kv === null ? "same" : "differs";
    const same =
      kv !== null &&
      kv.modRevision === probe.modRevision &&
      kv.createRevision === probe.createRevision;
    return same ? "same" : "differs";
  }

  /** For stores without history reads: compare the key's current state. */
  private async compareNow(probe: Probe, viewRev: number): Promise<Verdict> {
    const kv = await this.timed(this.store.get(probe.key), "get");
    if (kv === null) return probe.deleted ? "same" : "unknown"; // deleted meanwhile, or another store
    // Writes after our revision are legitimate (the watch will deliver them);
    // a different history at or below it is not.
    if (probe.deleted) return kv.modRevision <= viewRev ? "differs" : "same";
    const differs =
      (kv.modRevision <= viewRev && kv.modRevision !== probe.modRevision) ||
      (kv.createRevision <= viewRev && kv.createRevision !== probe.createRevision);
    return differs ? "differs" : "same";
  }

  private noteReset(why: string): void {
    this.st.resets++;
    this.log("warning", "store revision reset detected: re-listing", { reason: why });
  }

  /** A cheap periodic request: finds dead connections a quiet watch would not report. */
  private startProbe(): void {
    if (this.opts.probeIntervalMs <= 0) return;
    this.probeTimer = setInterval(() => {
      if (this.recovering || this.closed) return;
      const epoch = this.epoch;
      // Events applied before the request were committed before it: the answer cannot be lower.
      const viewRev = this.currentRevision();
      this.timed(this.store.revision(), "revision").then(
        (rev) => {
          if (epoch !== this.epoch || this.recovering) return;
          if (rev < viewRev) {
            this.noteReset(`store revision ${rev} is below the view's ${viewRev}`);
            this.fault(new RevisionResetError("store revision reset"));
          }
        },
        (err: unknown) => {
          if (epoch === this.epoch) this.fault(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }, this.opts.probeIntervalMs);
    this.probeTimer.unref();
  }

  // ---- helpers ---------------------------------------------------------------

  /** Bound a store request; `dispose` cleans up a result that arrives after the timeout. */
  private timed<T>(p: Promise<T>, what: string, dispose?: (late: T) => unknown): Promise<T> {
    const ms = this.opts.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError(
              `${this.store.description}: ${what} timed out after ${ms} ms`,
            ),
          ),
        ms,
      );
    });
    let settled = false;
    p.then(
      (v) => {
        if (settled && dispose) Promise.resolve(dispose(v)).catch(() => {});
      },
      () => {}, // a late rejection after the timeout is not unhandled
    );
    return Promise.race([p, timeout]).finally(() => {
      settled = true;
      clearTimeout(timer);
    });
  }

  private log(level: "debug" | "info" | "warning" | "error", msg: string, fields: object): void {
    const full = { backend: this.name, store: this.store.description, ...fields };
    if (this.opts.log) {
      this.opts.log(level, `${this.name}: ${msg} ${JSON.stringify(full)}`);
      return;
    }
    if (level === "debug") return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level, component: "confd-backend", msg, ...full })}\n`,
    );
  }
}

/** An error message without its numbers (timestamps, ports, counters): "the same failure". */
function errorKind(err: Error): string {
  return `${err.name}: ${err.message.replace(/\d+/g, "#")}`;
}

function forcesRelist(err: Error | null): boolean {
  return err instanceof CompactedError || err instanceof RevisionResetError;
}

function probeOf(kv: KeyValue): Probe {
  return {
    key: kv.key,
    modRevision: kv.modRevision,
    createRevision: kv.createRevision,
    deleted: false,
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
