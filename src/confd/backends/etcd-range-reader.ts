// confd's read-only view of etcd for -onetime: the store's etcd client
// (src/store/etcd.ts over src/store/etcd/client.ts: same sessions, codec,
// failover, auth and TLS), listing page by page into one reused answer
// buffer, values optionally sliced from one page string (sliceValues; the
// process ends after one render). Nothing here speaks gRPC itself.

import { type EtcdOptions, EtcdStore } from "../../store/etcd.js";
import type { KeyValue, ListResult, Store } from "../../store/store.js";

export { prefixEnd } from "../../store/etcd/codec.js";

export class EtcdRangeReader implements Store {
  readonly description: string;
  private readonly store: EtcdStore;

  /**
   * @param sliceValues values as slices of one string per page (see
   *   decodeRangeResponse in src/store/etcd/codec.ts): for -onetime, whose
   *   process ends after one render.
   */
  constructor(opts: EtcdOptions, timeoutMs = 5000, sliceValues = false) {
    this.store = new EtcdStore({ ...opts, callTimeoutMs: timeoutMs, sliceValues, batchCas: false });
    this.description = this.store.description;
  }

  get(key: string): Promise<KeyValue | null> {
    return this.store.get(key);
  }

  /** All keys under `prefix`, page by page, every page at the first page's revision. */
  list(prefix: string): Promise<ListResult> {
    return this.store.list(prefix);
  }

  revision(): Promise<number> {
    return this.store.revision();
  }

  watch(): never {
    throw new Error("etcd range reader: read-only (no watch)");
  }
  put(): never {
    throw new Error("etcd range reader: read-only");
  }
  delete(): never {
    throw new Error("etcd range reader: read-only");
  }
  grantLease(): never {
    throw new Error("etcd range reader: read-only");
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
