// etcd v3 store on the project's one etcd client (etcd/client.ts: gRPC over
// node:http2, endpoint health and failover, token auth, TLS) and its one
// codec (etcd/codec.ts). Compare-and-swap is a transaction on the key's mod
// revision (create-if-absent: create revision == 0), batched across keys
// (etcd/cas-batcher.ts); lists read page by page at the revision of the
// first page; watches are one gRPC stream each, resumed on another endpoint
// from the next revision when theirs fails (etcd/watch.ts).
//
// Failure model: every call has a deadline (`callTimeoutMs`, default 5 s)
// over all its attempts; reads and idempotent writes move on to another
// healthy endpoint when theirs fails; a compare-and-swap whose answer was
// lost is sent again and its outcome re-validated (see revalidate()). When
// no endpoint answers, an operation rejects with StoreUnavailableError (an
// HTTP handler answers 503). A watch that no endpoint can take ends with
// StoreUnavailableError through onError (callers re-list and watch again);
// it never resumes with a gap.

import { CasBatcher } from "./etcd/cas-batcher.js";
import { clientOptionsOf, type EndpointHealth, EtcdClient } from "./etcd/client.js";
import {
  decodeCasTxnResponse,
  decodeLeaseResponse,
  encodeCasDeleteTxn,
  encodeCompactionRequest,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeLeaseIdRequest,
  encodePutRequest,
  prefixRange,
  responseRevision,
} from "./etcd/codec.js";
import { EtcdStatusError } from "./etcd/errors.js";
import { EtcdReads } from "./etcd/reads.js";
import { type BatchResult, type CasPut, decodeBatchTxn, encodeBatchTxn } from "./etcd/txn-proto.js";
import { EtcdWatch } from "./etcd/watch.js";
import { validateExpect, validateKey, validateTtl, validateValue } from "./keyrange.js";
import {
  CompactedError,
  type KeyValue,
  type Lease,
  type ListResult,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type Watch,
  type WatchHandlers,
  type WriteResult,
} from "./store.js";

export interface EtcdOptions {
  /** "http://127.0.0.1:2379" style URLs (https for TLS). */
  endpoints: string[];
  /** PEM file paths (or contents) for TLS; insecure: do not verify the server's certificate. */
  tls?: { ca?: string; cert?: string; key?: string; insecure?: boolean };
  username?: string;
  password?: string;
  /** Connection establishment timeout (ms). Default 3000. */
  dialTimeoutMs?: number;
  /** Deadline of each call, all its attempts together (ms). Default 5000 (a loaded etcd fsyncing can take seconds). */
  callTimeoutMs?: number;
  /** Keys per page when listing a prefix. Default 1000. */
  pageSize?: number;
  /**
   * Send compare-and-swap puts to different keys issued at the same time as
   * one etcd transaction (nested per-key transactions, see
   * etcd/cas-batcher.ts). Default true; false sends each alone.
   */
  batchCas?: boolean;
  /** Keys per batched transaction (default 64; etcd's --max-txn-ops must be above it). */
  batchMaxOps?: number;
  /** Batched transactions in flight at once (default 2). */
  batchMaxInFlight?: number;
  /**
   * List values as slices of one string per page (etcd/codec.ts,
   * decodeRangeResponse): for short-lived readers (confd -onetime) only.
   */
  sliceValues?: boolean;
  /** Keepalive and back-off tuning (etcd/client.ts); tests shorten them. */
  health?: {
    silenceMs?: number;
    pingTimeoutMs?: number;
    backoffMs?: { min: number; max: number };
  };
}

const KV = "/etcdserverpb.KV/";
const LEASE = "/etcdserverpb.Lease/";

export class EtcdStore implements Store {
  readonly description: string;
  readonly client: EtcdClient;
  private readonly reads: EtcdReads;
  private readonly watches = new Set<() => void>();
  /** Batched compare-and-swap puts (null: each CAS is its own transaction). */
  readonly casBatcher: CasBatcher | null = null;

  constructor(opts: EtcdOptions) {
    this.client = new EtcdClient(clientOptionsOf(opts));
    this.description = this.client.description;
    this.reads = new EtcdReads(this.client, opts);
    if (opts.batchCas ?? true) {
      this.casBatcher = new CasBatcher(
        (ops) => this.casTxn(ops, `compare-and-swap of ${ops.length} key(s)`),
        (key, err) =>
          err instanceof StoreUnavailableError
            ? new StoreUnavailableError(`${err.message} (put ${key})`, { cause: err })
            : (err as Error),
        { maxOps: opts.batchMaxOps, maxInFlight: opts.batchMaxInFlight },
      );
    }
  }

  /** Health of each endpoint (for metrics and /healthz). */
  health(): EndpointHealth[] {
    return this.client.health();
  }

  get(key: string): Promise<KeyValue | null> {
    return this.reads.get(key);
  }

  /** A key as of a past revision (CompactedError when that revision is gone). */
  readAt(key: string, revision: number): Promise<KeyValue | null> {
    return this.reads.readAt(key, revision);
  }

  list(prefix: string): Promise<ListResult> {
    return this.reads.list(prefix);
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<WriteResult> {
    validateKey(key, "put");
    validateValue(value, `put ${key}`);
    const expect = validateExpect(opts.expectModRevision, `put ${key}`);
    const k = Buffer.from(key);
    const v = Buffer.from(value);
    if (expect === undefined) {
      // Idempotent: sent again to another endpoint if the answer is lost.
      const res = await this.client.call(`${KV}Put`, encodePutRequest(k, v, opts.lease), {
        what: `put ${key}`,
      });
      return { ok: true, revision: responseRevision(res) };
    }
    const op: CasPut = { key: k, value: v, expect, lease: opts.lease };
    if (this.casBatcher) return this.casBatcher.put(op, key);
    const res = await this.casTxn([op], `put ${key}`);
    const o = res.outcomes[0]!;
    const w: WriteResult = { ok: o.ok, revision: o.revision ?? res.revision };
    if (o.current) w.current = o.current;
    return w;
  }

  /**
   * One transaction of conditional puts. When an attempt's answer was lost
   * and the transaction was sent again, a put that now "fails" may be one
   * the lost attempt applied: revalidate() tells them apart.
   */
  private async casTxn(ops: CasPut[], what: string): Promise<BatchResult> {
    let resent = false;
    const body = await this.client.call(`${KV}Txn`, encodeBatchTxn(ops), {
      what,
      onAmbiguousRetry: () => {
        resent = true;
      },
    });
    const res = decodeBatchTxn(body, ops.length);
    if (resent) revalidate(ops, res);
    return res;
  }

  async delete(key: string, opts: { expectModRevision?: number } = {}): Promise<WriteResult> {
    validateKey(key, "delete");
    const expect = validateExpect(opts.expectModRevision, `delete ${key}`);
    const k = Buffer.from(key);
    if (expect === undefined) {
      const res = await this.client.call(`${KV}DeleteRange`, encodeDeleteRangeRequest(k), {
        what: `delete ${key}`,
      });
      return { ok: true, revision: responseRevision(res) };
    }
    let resent = false;
    const res = decodeCasTxnResponse(
      await this.client.call(`${KV}Txn`, encodeCasDeleteTxn(k, expect), {
        what: `delete ${key}`,
        onAmbiguousRetry: () => {
          resent = true;
        },
      }),
    );
    // Sent again after a lost answer and the key is gone: the first attempt deleted it.
    if (res.succeeded || (resent && res.current === undefined)) {
      return { ok: true, revision: res.revision };
    }
    const w: WriteResult = { ok: false, revision: res.revision };
    if (res.current) w.current = res.current;
    return w;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    validateTtl(ttlSeconds, "grantLease");
    const res = decodeLeaseResponse(
      await this.client.call(`${LEASE}LeaseGrant`, encodeLeaseGrantRequest(ttlSeconds), {
        what: "grant lease",
      }),
    );
    if (res.error) throw new Error(`${this.description}: grant lease: ${res.error}`);
    const id = res.id;
    return {
      id,
      ttlSeconds: res.ttl,
      keepAlive: () => this.keepAliveOnce(id),
      revoke: async () => {
        let resent = false;
        try {
          await this.client.call(`${LEASE}LeaseRevoke`, encodeLeaseIdRequest(id), {
            what: `revoke lease ${id}`,
            onAmbiguousRetry: () => {
              resent = true;
            },
          });
        } catch (err) {
          // Sent again after a lost answer: "not found" means the first attempt revoked it.
          if (!(resent && err instanceof EtcdStatusError && err.code === 5)) throw err;
        }
      },
    };
  }

  /** One LeaseKeepAlive round trip (request, answer, half-close: a unary call on the stream RPC). */
  private async keepAliveOnce(id: string): Promise<void> {
    const what = `keepAlive lease ${id}`;
    const res = decodeLeaseResponse(
      await this.client.call(`${LEASE}LeaseKeepAlive`, encodeLeaseIdRequest(id), { what }),
    );
    if (res.ttl <= 0) {
      throw new Error(`${this.description}: ${what}: lease not found (expired or revoked)`);
    }
  }

  revision(): Promise<number> {
    return this.reads.revision();
  }

  /** Compact history before `revision` (watches from older revisions get CompactedError). */
  async compact(revision: number): Promise<void> {
    let resent = false;
    try {
      await this.client.call(`${KV}Compact`, encodeCompactionRequest(revision), {
        what: `compact ${revision}`,
        onAmbiguousRetry: () => {
          resent = true;
        },
      });
    } catch (err) {
      if (!(resent && err instanceof CompactedError)) throw err;
    }
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    return this.watchWith(prefix, fromRevision, handlers, false);
  }

  /**
   * Like watch, but only deletions, without previous values: etcd filters
   * the puts out before sending (a watcher that only needs to notice pods
   * going away does not receive, decode and drop every pod write).
   */
  async watchDeletions(
    prefix: string,
    fromRevision: number,
    handlers: WatchHandlers,
  ): Promise<Watch> {
    return this.watchWith(prefix, fromRevision, handlers, true);
  }

  private async watchWith(
    prefix: string,
    fromRevision: number,
    handlers: WatchHandlers,
    deletionsOnly: boolean,
  ): Promise<Watch> {
    if (typeof prefix !== "string") throw new TypeError("watch: prefix must be a string");
    const { key, end } = prefixRange(prefix);
    const spec = {
      key,
      rangeEnd: end,
      startRevision: Math.max(0, fromRevision || 0),
      prevKv: !deletionsOnly,
      noPut: deletionsOnly,
    };
    const where = `${this.description}: watch ${prefix}`;
    const w = new EtcdWatch(this.client, spec, handlers, where, this.client.callTimeoutMs);
    this.watches.add(w.stop);
    w.onEnd = () => this.watches.delete(w.stop);
    try {
      await w.start();
    } catch (err) {
      w.stop();
      throw err;
    }
    return { close: async () => w.stop() };
  }

  async close(): Promise<void> {
    this.casBatcher?.close();
    for (const stop of [...this.watches]) stop();
    this.client.close();
    this.reads.release();
  }
}

/**
 * After a transaction was sent twice (the first answer lost), a put whose
 * compare now fails while the key holds exactly the value and lease it
 * wrote, at a revision past the expected one, was applied by the first
 * attempt: reported as a success at that revision. (Another writer storing
 * the same bytes meanwhile would look the same; for pod objects, whose
 * writes carry their own resourceVersion-like content, that is harmless:
 * the stored state is what this caller wanted.)
 */
function revalidate(ops: CasPut[], res: BatchResult): void {
  for (let i = 0; i < ops.length; i++) {
    const o = res.outcomes[i]!;
    const op = ops[i]!;
    const cur = o.current;
    if (o.ok || cur === undefined || cur.modRevision <= op.expect) continue;
    const lease = op.lease && op.lease !== "0" ? op.lease : undefined;
    if (cur.lease !== lease || cur.value !== op.value.toString()) continue;
    res.outcomes[i] = { ok: true, revision: cur.modRevision };
  }
}
