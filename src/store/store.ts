// The one small key-value interface every pod store implements
// (etcd v3, embedded SQLite, Kubernetes API adapter). Shaped after etcd v3:
// one global revision counter, per-key mod revisions, prefix reads and
// watches, compare-and-swap writes and leases. confd's backends and the
// server's pod/ledger code depend only on this file.

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the store when this key was created. */
  createRevision: number;
  /** Revision of the store when this key was last written. */
  modRevision: number;
  /** Number of writes since creation (1 after create). */
  version: number;
  /** Lease the key is attached to, if any. */
  lease?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** Store revision the list was read at (a consistent snapshot). */
  revision: number;
}

export type WatchEvent =
  | { type: "put"; kv: KeyValue; prev?: KeyValue }
  | { type: "delete"; key: string; modRevision: number; prev?: KeyValue };

export interface WatchHandlers {
  /** Events of one revision batch, in revision order. */
  onEvents(events: WatchEvent[], revision: number): void;
  /**
   * The watch ended and will not resume by itself: `CompactedError` (the
   * requested revision is gone: re-list and watch again), `StoreUnavailableError`
   * (connection lost), or another error.
   */
  onError(err: Error): void;
}

export interface Watch {
  close(): Promise<void>;
}

export interface PutOptions {
  /**
   * Compare-and-swap: write only if the key's modRevision equals this value.
   * 0 means "create only if absent". Omitted: unconditional write.
   */
  expectModRevision?: number;
  /** Attach the key to a lease (it is deleted when the lease expires). */
  lease?: string;
}

export interface WriteResult {
  /** false when the compare-and-swap condition failed (nothing written). */
  ok: boolean;
  /** Store revision after the write (or current revision when !ok). */
  revision: number;
  /** On !ok: the current value of the key, when it exists. */
  current?: KeyValue;
}

export interface Lease {
  id: string;
  ttlSeconds: number;
  /** Renew the lease once (callers schedule it; implementations may auto-renew). */
  keepAlive(): Promise<void>;
  revoke(): Promise<void>;
}

export interface Store {
  /** Human-readable description for logs: "etcd http://127.0.0.1:2379", "embedded /var/lib/x". */
  readonly description: string;
  get(key: string): Promise<KeyValue | null>;
  /** All keys starting with `prefix`, sorted by key, at one revision. */
  list(prefix: string): Promise<ListResult>;
  /** Watch keys starting with `prefix`, delivering every event with modRevision >= fromRevision. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch>;
  put(key: string, value: string, opts?: PutOptions): Promise<WriteResult>;
  delete(key: string, opts?: { expectModRevision?: number }): Promise<WriteResult>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  /**
   * Current store revision (cheap health probe). With `prefix`: the revision
   * a watch of that prefix starts after (list/watch: watch(prefix, r + 1)); a
   * store made of several answers for the one holding the prefix.
   */
  revision(prefix?: string): Promise<number>;
  close(): Promise<void>;
}

/** The watch's start revision has been compacted away. */
export class CompactedError extends Error {
  override name = "CompactedError";
  constructor(
    readonly compactRevision: number,
    message = `revision compacted (oldest available: ${compactRevision})`,
  ) {
    super(message);
  }
}

/** The store cannot be reached; the operation may be retried later. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** Kubernetes pod keys, the layout the seed's confd template reads. */
export const podKey = (namespace: string, name: string): string =>
  `/registry/pods/${namespace}/${name}`;
