// confd's read-only view of etcd for -onetime: the store's etcd client
// (src/store/etcd/client.ts: same sessions, codec, failover, auth and TLS)
// and the store's reads (src/store/etcd/reads.ts, also EtcdStore's), listing
// page by page into one reused answer buffer, values optionally sliced from
// one page string (sliceValues; the process ends after one render). Nothing
// here speaks gRPC itself, and nothing of the store's watch or
// compare-and-swap parts is loaded.

import { clientOptionsOf, EtcdClient } from "../../store/etcd/client.js";
import { EtcdReads } from "../../store/etcd/reads.js";
import type { EtcdOptions } from "../../store/etcd.js";
import type { KeyValue, ListResult, Store } from "../../store/store.js";

export { prefixEnd } from "../../store/etcd/codec.js";

export class EtcdRangeReader implements Store {
  readonly description: string;
  readonly client: EtcdClient;
  private readonly reads: EtcdReads;

  /**
   * @param sliceValues values as slices of one string per page (see
   *   decodeRangeResponse in src/store/etcd/codec.ts): for -onetime, whose
   *   process ends after one render.
   */
  constructor(opts: EtcdOptions, timeoutMs = 5000, sliceValues = false) {
    this.client = new EtcdClient(clientOptionsOf({ ...opts, callTimeoutMs: timeoutMs }));
    this.reads = new EtcdReads(this.client, { pageSize: opts.pageSize, sliceValues });
    this.description = this.client.description;
  }

  get(key: string): Promise<KeyValue | null> {
    return this.reads.get(key);
  }

  /** All keys under `prefix`, page by page, every page at the first page's revision. */
  list(prefix: string): Promise<ListResult> {
    return this.reads.list(prefix);
  }

  revision(): Promise<number> {
    return this.reads.revision();
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

  async close(): Promise<void> {
    this.client.close();
    this.reads.release();
  }
}
