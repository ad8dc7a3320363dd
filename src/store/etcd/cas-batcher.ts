// Batches compare-and-swap puts to DIFFERENT keys into one etcd transaction.
//
// CAS puts issued in the same event-loop turn (or while the previous batches
// are in flight) are sent as ONE outer TxnRequest whose success ops are one
// nested transaction per key:
//
//   mod_revision(key) == expect ? put(key, value) : range(key)
//
// etcd (>= 3.3) evaluates every nested transaction on its own: each put
// succeeds or fails exactly as if it had been sent alone, and a failed one
// returns the key's current value. The whole batch is one raft entry, one
// revision, one fsync and one gRPC call instead of N. Callers see the same
// WriteResult as from an unbatched CAS (revision = the batch's revision,
// which is the mod revision of every key the batch wrote).
//
// etcd refuses a transaction that writes one key twice, so a key already in
// the batch being built, or in a batch still in flight, waits for a later
// one: puts to one key reach etcd in call order. Batches are bounded by op
// count (etcd's --max-txn-ops, 128 by default, counts the nested ops too)
// and bytes (--max-request-bytes, 1.5 MiB by default).

import { StoreUnavailableError, type WriteResult } from "../store.js";
import type { BatchResult, CasPut } from "./txn-proto.js";

export interface CasBatcherOptions {
  /** Keys per transaction. Default 64 (etcd's --max-txn-ops default is 128). */
  maxOps?: number;
  /** Request bytes per transaction (one larger op still goes alone). Default 1 MiB. */
  maxBytes?: number;
  /** Transactions in flight at once. Default 2. */
  maxInFlight?: number;
}

interface Entry {
  op: CasPut;
  key: string;
  resolve(r: WriteResult): void;
  reject(err: unknown): void;
}

export class CasBatcher {
  private pending: Entry[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Keys of the batches in flight. */
  private readonly busy = new Set<string>();
  private maxOps: number;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;
  private closed = false;
  /** Transactions sent and ops carried (for tests and benchmarks). */
  readonly stats = { batches: 0, ops: 0 };

  constructor(
    private readonly send: (ops: CasPut[]) => Promise<BatchResult>,
    private readonly describeError: (key: string, err: unknown) => Error,
    opts: CasBatcherOptions = {},
  ) {
    this.maxOps = opts.maxOps ?? 64;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
    this.maxInFlight = opts.maxInFlight ?? 2;
    if (!(this.maxOps >= 1 && this.maxInFlight >= 1 && this.maxBytes >= 1)) {
      throw new RangeError("etcd CAS batcher: maxOps, maxBytes and maxInFlight must be >= 1");
    }
  }

  put(op: CasPut, key: string): Promise<WriteResult> {
    if (this.closed) {
      return Promise.reject(new StoreUnavailableError(`put ${key}: store closed`));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ op, key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current I/O phase: every request parsed in it joins the batch.
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  close(): void {
    this.closed = true;
    const left = this.pending;
    this.pending = [];
    for (const e of left) e.reject(new StoreUnavailableError(`put ${e.key}: store closed`));
  }

  private flush(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.take();
      if (batch.length === 0) return; // every pending key is in flight
      this.inFlight++;
      void this.run(batch);
    }
  }

  /** The next batch: distinct keys, in arrival order, within the op and byte limits. */
  private take(): Entry[] {
    const batch: Entry[] = [];
    const keys = new Set<string>();
    const rest: Entry[] = [];
    let bytes = 0;
    for (const e of this.pending) {
      const size = e.op.key.length * 3 + e.op.value.length + 64;
      const full =
        batch.length >= this.maxOps || (batch.length > 0 && bytes + size > this.maxBytes);
      if (full || keys.has(e.key) || this.busy.has(e.key)) {
        rest.push(e);
        continue;
      }
      keys.add(e.key);
      bytes += size;
      batch.push(e);
    }
    this.pending = rest;
    for (const e of batch) this.busy.add(e.key);
    return batch;
  }

  private async run(batch: Entry[]): Promise<void> {
    try {
      const res = await this.send(batch.map((e) => e.op));
      this.stats.batches++;
      this.stats.ops += batch.length;
      for (let i = 0; i < batch.length; i++) {
        const o = res.outcomes[i]!;
        const w: WriteResult = { ok: o.ok, revision: o.revision ?? res.revision };
        if (o.current) w.current = o.current;
        batch[i]!.resolve(w);
      }
    } catch (err) {
      if (batch.length > 1 && /too many operations/i.test((err as Error).message)) {
        // This etcd runs with a lower --max-txn-ops: smaller batches from now on.
        this.maxOps = Math.max(1, Math.floor(batch.length / 2));
        this.pending = batch.concat(this.pending);
      } else {
        for (const e of batch) e.reject(this.describeError(e.key, err));
      }
    } finally {
      for (const e of batch) this.busy.delete(e.key);
      this.inFlight--;
      this.flush();
    }
  }
}
