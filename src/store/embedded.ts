// Embedded pod store: SQLite (better-sqlite3) in `<dir>/store.db`, with the
// etcd v3 semantics of store.ts: one global revision, per-key create/mod
// revision and version, prefix lists at one revision, compare-and-swap,
// leases, and watches that replay from a revision out of an event log.
//
// Durability: WAL journal with synchronous=FULL by default, so a write is
// fsynced before put() resolves and survives SIGKILL and power loss. With
// `synchronous: "normal"` a committed transaction is in the WAL file (the OS
// page cache) before put() resolves: that survives SIGKILL of this process
// (the kernel still owns the pages), only a power loss can drop the tail.
//
// Watches: watchers in this process get events synchronously after each
// commit (before put() resolves). Commits by OTHER processes on the same file
// are noticed by a cheap poll (PRAGMA data_version, every `pollMs`, default
// 100 ms) and replayed from the event log, so domeos-confd in one process can
// watch the store of a running domeos-server in another.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  type EventRow,
  type KvRow,
  prepareStatements,
  SCHEMA_SQL,
  SCHEMA_VERSION,
  type Statements,
} from "./embedded-schema.js";
import { prefixEnd, validateExpect, validateKey, validateTtl, validateValue } from "./keyrange.js";
import {
  CompactedError,
  type KeyValue,
  type Lease,
  type ListResult,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WriteResult,
} from "./store.js";

export interface EmbeddedOptions {
  /** "full" (default): fsync per commit. "normal": survives process crashes, not power loss. */
  synchronous?: "full" | "normal";
  /** How often to look for other processes' commits and expired leases (ms). Default 100. */
  pollMs?: number;
  /** Keep at least this many revisions of event history for watch replay. Default 10000. */
  historyRevisions?: number;
}

interface Watcher {
  prefix: string;
  end: string | null;
  nextRev: number;
  handlers: WatchHandlers;
  closed: boolean;
}

const DB_FILE = "store.db";

export class EmbeddedStore implements Store {
  readonly description: string;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly st: Statements;
  private readonly watchers = new Set<Watcher>();
  private readonly timer: NodeJS.Timeout;
  private readonly historyRevisions: number;
  private dataVersion = 0;
  private closed = false;
  private pumping = false;
  private pumpAgain = false;

  /** Open (creating if needed) the store in data directory `dir`. */
  constructor(dir: string, opts: EmbeddedOptions = {}) {
    this.path = join(dir, DB_FILE);
    this.description = `embedded ${this.path}`;
    this.historyRevisions = opts.historyRevisions ?? 10_000;
    try {
      mkdirSync(dir, { recursive: true });
      this.db = new Database(this.path, { timeout: 10_000 });
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${opts.synchronous === "normal" ? "NORMAL" : "FULL"}`);
      this.db.exec(SCHEMA_SQL);
    } catch (err) {
      throw new Error(`embedded store ${this.path}: cannot open: ${(err as Error).message}`);
    }
    this.st = prepareStatements(this.db);
    const version = this.st.state.get()!.schema_version;
    if (version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(
        `embedded store ${this.path}: schema version ${version}, this program knows ${SCHEMA_VERSION}`,
      );
    }
    this.dataVersion = this.readDataVersion();
    this.reapExpiredLeases();
    this.timer = setInterval(() => this.tick(), opts.pollMs ?? 100);
    this.timer.unref();
  }

  get(key: string): Promise<KeyValue | null> {
    return this.run(() => {
      validateKey(key, "get");
      const row = this.st.getKv.get(key);
      return row ? toKv(row) : null;
    });
  }

  list(prefix: string): Promise<ListResult> {
    return this.run(() => {
      if (typeof prefix !== "string") throw new TypeError("list: prefix must be a string");
      const end = prefixEnd(prefix);
      // One read transaction: the rows and the revision come from one snapshot.
      return this.db.transaction(() => {
        const rows =
          end === null ? this.st.rangeKvOpen.all(prefix) : this.st.rangeKv.all(prefix, end);
        return { kvs: rows.map(toKv), revision: this.st.state.get()!.revision };
      })();
    });
  }

  put(key: string, value: string, opts: PutOptions = {}): Promise<WriteResult> {
    return this.run(() => {
      validateKey(key, "put");
      validateValue(value, `put ${key}`);
      const expect = validateExpect(opts.expectModRevision, `put ${key}`);
      const result = this.db
        .transaction(() => this.putTxn(key, value, expect, opts.lease))
        .immediate();
      this.afterCommit();
      return result;
    });
  }

  delete(key: string, opts: { expectModRevision?: number } = {}): Promise<WriteResult> {
    return this.run(() => {
      validateKey(key, "delete");
      const expect = validateExpect(opts.expectModRevision, `delete ${key}`);
      const result = this.db.transaction(() => this.deleteTxn(key, expect)).immediate();
      this.afterCommit();
      return result;
    });
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.run(() => {
      validateTtl(ttlSeconds, "grantLease");
      const info = this.st.insertLease.run(ttlSeconds, Date.now() + ttlSeconds * 1000);
      return this.leaseHandle(String(info.lastInsertRowid), ttlSeconds);
    });
  }

  revision(): Promise<number> {
    return this.run(() => this.st.state.get()!.revision);
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    return this.run(() => {
      if (typeof prefix !== "string") throw new TypeError("watch: prefix must be a string");
      const current = this.st.state.get()!.revision;
      const w: Watcher = {
        prefix,
        end: prefixEnd(prefix),
        nextRev: fromRevision > 0 ? fromRevision : current + 1,
        handlers,
        closed: false,
      };
      this.watchers.add(w);
      // Replay history after the caller has its handle.
      queueMicrotask(() => this.pump());
      return {
        close: async () => {
          w.closed = true;
          this.watchers.delete(w);
        },
      };
    });
  }

  /** Drop event history before `revision`: watches from older revisions get CompactedError. */
  compact(revision: number): Promise<void> {
    return this.run(() => {
      this.db
        .transaction(() => {
          const state = this.st.state.get()!;
          if (revision > state.revision + 1) {
            throw new RangeError(
              `compact: revision ${revision} is in the future (current ${state.revision})`,
            );
          }
          if (revision <= state.compact_revision) return;
          this.st.compactEvents.run(revision);
          this.st.setCompact.run(revision);
        })
        .immediate();
      // Watchers still behind the new floor must learn it now.
      this.pump();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // The owner closed the store: watches end quietly, no onError.
    for (const w of this.watchers) w.closed = true;
    this.watchers.clear();
    this.db.close();
  }

  // ---- transactions (run inside BEGIN IMMEDIATE) ----

  private putTxn(key: string, value: string, expect?: number, lease?: string): WriteResult {
    const cur = this.st.getKv.get(key);
    const state = this.st.state.get()!;
    if (expect !== undefined && (cur?.mod_rev ?? 0) !== expect) {
      return { ok: false, revision: state.revision, current: cur ? toKv(cur) : undefined };
    }
    if (lease !== undefined) this.requireLiveLease(lease, `put ${key}`);
    const rev = state.revision + 1;
    const createRev = cur ? cur.create_rev : rev;
    const version = cur ? cur.version + 1 : 1;
    this.st.upsertKv.run(key, value, createRev, rev, version, lease ?? null);
    this.st.insertEvent.run(
      rev,
      0,
      0,
      key,
      value,
      createRev,
      version,
      lease ?? null,
      cur?.value ?? null,
      cur?.create_rev ?? null,
      cur?.mod_rev ?? null,
      cur?.version ?? null,
      cur?.lease ?? null,
    );
    this.st.setRevision.run(rev);
    return { ok: true, revision: rev };
  }

  private deleteTxn(key: string, expect?: number): WriteResult {
    const cur = this.st.getKv.get(key);
    const state = this.st.state.get()!;
    if (expect !== undefined && (cur?.mod_rev ?? 0) !== expect) {
      return { ok: false, revision: state.revision, current: cur ? toKv(cur) : undefined };
    }
    // Deleting an absent key changes nothing and, as in etcd, takes no revision.
    if (!cur) return { ok: true, revision: state.revision };
    const rev = state.revision + 1;
    this.deleteRows([cur], rev);
    this.st.setRevision.run(rev);
    return { ok: true, revision: rev };
  }

  private deleteRows(rows: KvRow[], rev: number): void {
    rows.forEach((cur, seq) => {
      this.st.deleteKv.run(cur.key);
      this.st.insertEvent.run(
        rev,
        seq,
        1,
        cur.key,
        null,
        null,
        null,
        null,
        cur.value,
        cur.create_rev,
        cur.mod_rev,
        cur.version,
        cur.lease,
      );
    });
  }

  private requireLiveLease(id: string, where: string): void {
    const lease = this.st.getLease.get(id);
    if (!lease || lease.expires_at <= Date.now()) {
      throw new Error(`${where}: lease ${id} not found (expired or revoked)`);
    }
  }

  /** Revoke one lease: all its keys go in one revision (etcd does the same). */
  private revokeTxn(id: string): void {
    const rows = this.st.keysOfLease.all(id);
    this.st.deleteLease.run(id);
    if (rows.length === 0) return;
    const rev = this.st.state.get()!.revision + 1;
    this.deleteRows(rows, rev);
    this.st.setRevision.run(rev);
  }

  private leaseHandle(id: string, ttlSeconds: number): Lease {
    return {
      id,
      ttlSeconds,
      keepAlive: () =>
        this.run(() => {
          const now = Date.now();
          const info = this.st.renewLease.run(now + ttlSeconds * 1000, id, now);
          // A lease past its expiry is dead even if the reaper has not run yet.
          if (info.changes === 0) throw new Error(`keepAlive: lease ${id} not found`);
        }),
      revoke: () =>
        this.run(() => {
          this.db.transaction(() => this.revokeTxn(id)).immediate();
          this.afterCommit();
        }),
    };
  }

  // ---- maintenance and watch delivery ----

  private tick(): void {
    if (this.closed) return;
    try {
      this.reapExpiredLeases();
      this.autoCompact();
      const v = this.readDataVersion();
      if (v !== this.dataVersion) {
        this.dataVersion = v;
        this.pump();
      }
    } catch (err) {
      // Busy or I/O trouble: tell watchers, keep the timer for the next try.
      if (!/SQLITE_BUSY|database is locked/.test(String(err))) {
        for (const w of this.watchers) this.endWatcher(w, wrap(err, this.description));
      }
    }
  }

  private reapExpiredLeases(): void {
    const expired = this.st.expiredLeases.all(Date.now());
    if (expired.length === 0) return;
    this.db
      .transaction(() => {
        const now = Date.now();
        for (const { id } of expired) {
          // Re-check inside the write lock: another process may have renewed it.
          const lease = this.st.getLease.get(String(id));
          if (lease && lease.expires_at <= now) this.revokeTxn(String(id));
        }
      })
      .immediate();
    this.afterCommit();
  }

  private autoCompact(): void {
    const state = this.st.state.get()!;
    // Compact in steps of 10% so the delete is amortised.
    const floor = state.revision - this.historyRevisions;
    if (floor - state.compact_revision > this.historyRevisions / 10) {
      this.db
        .transaction(() => {
          this.st.compactEvents.run(floor);
          this.st.setCompact.run(floor);
        })
        .immediate();
    }
  }

  private readDataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  private afterCommit(): void {
    // Our own commits do not change data_version for this connection.
    this.pump();
  }

  /** Deliver every logged event each watcher has not seen, one revision batch at a time. */
  private pump(): void {
    if (this.pumping) {
      // A handler wrote to the store: deliver that commit after this round.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    if (this.closed || this.watchers.size === 0) return;
    // One read snapshot: the events and the revision they run up to.
    const { rows, revision, compactRevision } = this.db.transaction(() => {
      const state = this.st.state.get()!;
      let from = Number.POSITIVE_INFINITY;
      for (const w of this.watchers) {
        from = Math.min(from, Math.max(w.nextRev, state.compact_revision));
      }
      const rows = from > state.revision ? [] : this.st.eventsFrom.all(from, state.revision);
      return { rows, revision: state.revision, compactRevision: state.compact_revision };
    })();
    for (const w of [...this.watchers]) this.deliver(w, rows, revision, compactRevision);
  }

  private deliver(w: Watcher, rows: EventRow[], revision: number, compactRevision: number): void {
    if (w.closed) return;
    if (w.nextRev < compactRevision) {
      this.endWatcher(w, new CompactedError(compactRevision));
      return;
    }
    let batch: WatchEvent[] = [];
    let batchRev = 0;
    const flush = () => {
      if (batch.length > 0 && !w.closed) {
        try {
          w.handlers.onEvents(batch, batchRev);
        } catch (err) {
          this.endWatcher(w, wrap(err, "watch handler threw"));
        }
      }
      batch = [];
    };
    for (const row of rows) {
      if (row.rev < w.nextRev || !inRange(row.key, w.prefix, w.end)) continue;
      if (row.rev !== batchRev) flush();
      batchRev = row.rev;
      batch.push(toEvent(row));
    }
    flush();
    w.nextRev = Math.max(w.nextRev, revision + 1);
  }

  private endWatcher(w: Watcher, err: Error): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    w.handlers.onError(err);
  }

  /** Run a synchronous SQLite operation as a promise; closed store -> StoreUnavailableError. */
  private run<T>(fn: () => T): Promise<T> {
    if (this.closed) {
      return Promise.reject(new StoreUnavailableError(`${this.description}: store closed`));
    }
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function inRange(key: string, prefix: string, end: string | null): boolean {
  return key >= prefix && (end === null || key < end) && key.startsWith(prefix);
}

function toKv(row: KvRow): KeyValue {
  const kv: KeyValue = {
    key: row.key,
    value: row.value,
    createRevision: row.create_rev,
    modRevision: row.mod_rev,
    version: row.version,
  };
  if (row.lease !== null) kv.lease = row.lease;
  return kv;
}

function prevOf(row: EventRow): KeyValue | undefined {
  if (row.prev_value === null) return undefined;
  const kv: KeyValue = {
    key: row.key,
    value: row.prev_value,
    createRevision: row.prev_create_rev!,
    modRevision: row.prev_mod_rev!,
    version: row.prev_version!,
  };
  if (row.prev_lease !== null) kv.lease = row.prev_lease;
  return kv;
}

function toEvent(row: EventRow): WatchEvent {
  const prev = prevOf(row);
  if (row.type === 1) {
    return prev
      ? { type: "delete", key: row.key, modRevision: row.rev, prev }
      : { type: "delete", key: row.key, modRevision: row.rev };
  }
  const kv: KeyValue = {
    key: row.key,
    value: row.value!,
    createRevision: row.create_rev!,
    modRevision: row.rev,
    version: row.version!,
  };
  if (row.lease !== null) kv.lease = row.lease;
  return prev ? { type: "put", kv, prev } : { type: "put", kv };
}

function wrap(err: unknown, where: string): Error {
  return err instanceof Error ? err : new Error(`${where}: ${String(err)}`);
}
