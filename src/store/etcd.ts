// etcd v3 store through the `etcd3` client's raw gRPC clients (KV, Lease,
// Watch). Compare-and-swap is a transaction on the key's mod revision
// (create-if-absent: create revision == 0); lists read page by page at the
// revision of the first page; watches are one gRPC stream each, mapping
// put/delete events with their previous value.
//
// Failure model: every unary call has a deadline (`callTimeoutMs`, default
// 5 s) and is tried once per endpoint, so when etcd is down an operation
// rejects with StoreUnavailableError within a few seconds and an HTTP handler
// can answer 503. A watch whose stream breaks ends with StoreUnavailableError
// through onError (callers re-list and watch again); it never silently
// resumes with a gap.

import {
  Etcd3,
  type IDuplexStream,
  type IKeyValue,
  type IOptions,
  type IWatchRequest,
  type IWatchResponse,
} from "etcd3";
import { CasBatcher } from "./etcd/cas-batcher.js";
import { GrpcUnary } from "./etcd/grpc-unary.js";
import { pem } from "./etcd/tls.js";
import { decodeBatchTxn, encodeBatchTxn } from "./etcd/txn-proto.js";
import { LeanWatch } from "./etcd/watch.js";
import { WatchLifecycle } from "./etcd/watch-lifecycle.js";
import { retryPolicy, toStoreError, withTimeout } from "./etcd-errors.js";
import { validateExpect, validateKey, validateTtl, validateValue } from "./keyrange.js";
import {
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

export interface EtcdOptions {
  /** "http://127.0.0.1:2379" style URLs (https for TLS). */
  endpoints: string[];
  /** PEM file paths (or contents) for TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
  username?: string;
  password?: string;
  /** Connection establishment timeout (ms). Default 3000. */
  dialTimeoutMs?: number;
  /** Deadline of each unary call (ms). Default 5000 (generous: a loaded etcd fsyncing can take seconds; a refused connection fails at once anyway). */
  callTimeoutMs?: number;
  /** Keys per page when listing a prefix. Default 1000. */
  pageSize?: number;
  /**
   * Send compare-and-swap puts to different keys issued at the same time as
   * one etcd transaction (nested per-key transactions, see
   * etcd/cas-batcher.ts), over a lean gRPC client. Default true; not used
   * with username/password (the lean client does not authenticate).
   */
  batchCas?: boolean;
  /** Keys per batched transaction (default 64; etcd's --max-txn-ops must be above it). */
  batchMaxOps?: number;
  /** Batched transactions in flight at once (default 2). */
  batchMaxInFlight?: number;
}

const NO_LEASE = "0";

export class EtcdStore implements Store {
  readonly description: string;
  readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly pageSize: number;
  private readonly watches = new Set<() => void>();
  /**
   * Watch streams bypass etcd3's per-call host rotation, so with several
   * endpoints each gets its own client (channels connect lazily).
   */
  private readonly watchClients: Etcd3[];
  private watchFrom = 0;
  /** Batched compare-and-swap puts (null: each CAS is its own etcd3 transaction). */
  readonly casBatcher: CasBatcher | null = null;
  private readonly grpc: GrpcUnary | null = null;

  constructor(opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd store: no endpoints given");
    this.description = `etcd ${opts.endpoints.join(",")}`;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.pageSize = opts.pageSize ?? 1000;
    this.client = new Etcd3(this.clientOptions(opts));
    this.watchClients =
      opts.endpoints.length === 1
        ? [this.client]
        : opts.endpoints.map((e) => new Etcd3(this.clientOptions({ ...opts, endpoints: [e] })));
    if ((opts.batchCas ?? true) && opts.username === undefined) {
      const grpc = new GrpcUnary({
        endpoints: opts.endpoints,
        tls: opts.tls,
        timeoutMs: this.callTimeoutMs,
      });
      this.grpc = grpc;
      this.casBatcher = new CasBatcher(
        async (ops) => {
          const res = await grpc.call(
            "/etcdserverpb.KV/Txn",
            encodeBatchTxn(ops),
            `compare-and-swap of ${ops.length} key(s)`,
          );
          return decodeBatchTxn(res, ops.length);
        },
        (key, err) => toStoreError(err, `put ${key}`, this.endpoints()),
        { maxOps: opts.batchMaxOps, maxInFlight: opts.batchMaxInFlight },
      );
    }
  }

  private clientOptions(opts: EtcdOptions): IOptions {
    const deadline = this.callTimeoutMs;
    const o: IOptions = {
      hosts: opts.endpoints,
      dialTimeout: opts.dialTimeoutMs ?? 3000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadline }),
      faultHandling: {
        host: () => retryPolicy(0),
        global: retryPolicy(opts.endpoints.length - 1),
      },
      // Pods are a few KB; a page of 1000 can exceed gRPC's 4 MB default.
      grpcOptions: {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        // Ping an idle connection so a watch on a silently dead etcd (host
        // gone, network cut) errors within ~15 s instead of waiting forever.
        // etcd accepts pings every 5 s or slower (--grpc-keepalive-min-time).
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        "grpc.keepalive_permit_without_calls": 1,
      },
    };
    if (opts.tls?.ca || opts.tls?.cert || opts.tls?.key) {
      o.credentials = {
        // No CA given: null makes gRPC trust the system roots (the type says Buffer).
        rootCertificate: pem(opts.tls.ca, "ca") ?? (null as unknown as Buffer),
        privateKey: pem(opts.tls.key, "key"),
        certChain: pem(opts.tls.cert, "cert"),
      };
    }
    if (opts.username !== undefined) {
      o.auth = { username: opts.username, password: opts.password ?? "" };
    }
    return o;
  }

  async get(key: string): Promise<KeyValue | null> {
    validateKey(key, "get");
    const res = await this.call(`get ${key}`, () =>
      this.client.kv.range({ key: Buffer.from(key) }),
    );
    return res.kvs.length > 0 ? toKv(res.kvs[0]) : null;
  }

  async list(prefix: string): Promise<ListResult> {
    if (typeof prefix !== "string") throw new TypeError("list: prefix must be a string");
    const { key, end } = prefixRange(prefix);
    const kvs: KeyValue[] = [];
    let revision = 0;
    let from = key;
    for (;;) {
      const page = await this.call(`list ${prefix}`, () =>
        this.client.kv.range({
          key: from,
          range_end: end,
          limit: this.pageSize,
          // Later pages read at the first page's revision: one consistent snapshot.
          revision: revision || undefined,
        }),
      );
      if (revision === 0) revision = Number(page.header.revision);
      for (const kv of page.kvs) kvs.push(toKv(kv));
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async put(key: string, value: string, opts: PutOptions = {}): Promise<WriteResult> {
    validateKey(key, "put");
    validateValue(value, `put ${key}`);
    const expect = validateExpect(opts.expectModRevision, `put ${key}`);
    const put = { key: Buffer.from(key), value: Buffer.from(value), lease: opts.lease ?? NO_LEASE };
    if (expect === undefined) {
      const res = await this.call(`put ${key}`, () => this.client.kv.put(put));
      return { ok: true, revision: Number(res.header.revision) };
    }
    if (this.casBatcher) {
      return this.casBatcher.put(
        { key: put.key, value: put.value, expect, lease: opts.lease },
        key,
      );
    }
    return this.casTxn(key, expect, { request_put: put }, `put ${key}`);
  }

  async delete(key: string, opts: { expectModRevision?: number } = {}): Promise<WriteResult> {
    validateKey(key, "delete");
    const expect = validateExpect(opts.expectModRevision, `delete ${key}`);
    const del = { key: Buffer.from(key) };
    if (expect === undefined) {
      const res = await this.call(`delete ${key}`, () => this.client.kv.deleteRange(del));
      return { ok: true, revision: Number(res.header.revision) };
    }
    return this.casTxn(key, expect, { request_delete_range: del }, `delete ${key}`);
  }

  /** One transaction: if the key's revision matches, do `op`; otherwise read the current value. */
  private async casTxn(
    key: string,
    expect: number,
    op: { request_put?: object; request_delete_range?: object },
    what: string,
  ): Promise<WriteResult> {
    const k = Buffer.from(key);
    const compare =
      expect === 0
        ? { key: k, target: "Create" as const, result: "Equal" as const, create_revision: 0 }
        : { key: k, target: "Mod" as const, result: "Equal" as const, mod_revision: expect };
    const res = await this.call(what, () =>
      this.client.kv.txn({
        compare: [compare],
        success: [op],
        failure: [{ request_range: { key: k } }],
      }),
    );
    const revision = Number(res.header.revision);
    if (res.succeeded) return { ok: true, revision };
    const cur = res.responses[0]?.response_range?.kvs?.[0];
    return { ok: false, revision, current: cur ? toKv(cur) : undefined };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    validateTtl(ttlSeconds, "grantLease");
    const res = await this.call("grant lease", () =>
      this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }),
    );
    if (res.error) throw new Error(`${this.description}: grant lease: ${res.error}`);
    const id = String(res.ID);
    return {
      id,
      ttlSeconds: Number(res.TTL),
      keepAlive: () => this.keepAliveOnce(id),
      revoke: async () => {
        await this.call(`revoke lease ${id}`, () =>
          this.client.leaseClient.leaseRevoke({ ID: id }),
        );
      },
    };
  }

  private async keepAliveOnce(id: string): Promise<void> {
    const what = `keepAlive lease ${id}`;
    const run = async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        const res = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on("data", resolve);
          stream.on("error", reject);
          stream.write({ ID: id });
        });
        if (Number(res.TTL) <= 0) throw new Error(`${what}: lease not found (expired or revoked)`);
      } finally {
        stream.cancel();
      }
    };
    try {
      await withTimeout(run(), this.callTimeoutMs, `${this.description}: ${what}`);
    } catch (err) {
      throw toStoreError(err, what, this.endpoints());
    }
  }

  async revision(): Promise<number> {
    // A linearizable read of one absent key: cheapest way to the current revision.
    const res = await this.call("revision", () =>
      this.client.kv.range({ key: Buffer.from([0]), count_only: true }),
    );
    return Number(res.header.revision);
  }

  /** Compact history before `revision` (watches from older revisions get CompactedError). */
  async compact(revision: number): Promise<void> {
    await this.call(`compact ${revision}`, () =>
      this.client.kv.compact({ revision, physical: true }),
    );
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
    const request: IWatchRequest = {
      create_request: {
        key,
        range_end: end,
        start_revision: fromRevision > 0 ? fromRevision : undefined,
        prev_kv: !deletionsOnly,
        filters: deletionsOnly ? ["Noput"] : undefined,
      },
    };
    if (this.grpc) return this.leanWatch(prefix, key, end, fromRevision, handlers, deletionsOnly);
    // A stream goes to one endpoint: on a connection failure try the next
    // one, starting with the endpoint that worked last.
    const n = this.watchClients.length;
    for (let attempt = 0; ; attempt++) {
      const i = (this.watchFrom + attempt) % n;
      try {
        const w = await this.openWatch(this.watchClients[i], request, handlers, `watch ${prefix}`);
        this.watchFrom = i;
        return { close: async () => w.stop() };
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || attempt + 1 >= n) throw err;
      }
    }
  }

  /** A watch over the lean gRPC client's connection; on a connection failure the next endpoint. */
  private async leanWatch(
    prefix: string,
    key: Buffer,
    rangeEnd: Buffer,
    fromRevision: number,
    handlers: WatchHandlers,
    deletionsOnly: boolean,
  ): Promise<Watch> {
    const grpc = this.grpc!;
    const spec = {
      key,
      rangeEnd,
      startRevision: Math.max(0, fromRevision || 0),
      prevKv: !deletionsOnly,
      noPut: deletionsOnly,
    };
    const where = `${this.description}: watch ${prefix}`;
    const n = this.endpoints().split(",").length;
    for (let attempt = 0; ; attempt++) {
      let w: LeanWatch | null = null;
      try {
        w = new LeanWatch(grpc.openStream("/etcdserverpb.Watch/Watch"), spec, handlers, where);
        const lw = w;
        this.watches.add(lw.stop);
        lw.onEnd = () => this.watches.delete(lw.stop);
        await withTimeout(lw.created, this.callTimeoutMs, where);
        return { close: async () => lw.stop() };
      } catch (err) {
        w?.stop();
        const e = toStoreError(err, `watch ${prefix}`, this.endpoints());
        if (!(e instanceof StoreUnavailableError) || attempt + 1 >= n) throw e;
        grpc.next();
      }
    }
  }

  private async openWatch(
    client: Etcd3,
    request: IWatchRequest,
    handlers: WatchHandlers,
    what: string,
  ): Promise<EtcdWatch> {
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await withTimeout(client.watchClient.watch(), this.callTimeoutMs, what);
    } catch (err) {
      throw toStoreError(err, what, this.endpoints());
    }
    const w = new EtcdWatch(stream, handlers, this.endpoints(), what);
    this.watches.add(w.stop);
    w.onEnd = () => this.watches.delete(w.stop);
    stream.write(request);
    try {
      await withTimeout(w.created, this.callTimeoutMs, `${this.description}: ${what}`);
    } catch (err) {
      w.stop();
      throw toStoreError(err, what, this.endpoints());
    }
    return w;
  }

  async close(): Promise<void> {
    this.casBatcher?.close();
    this.grpc?.close();
    for (const stop of [...this.watches]) stop();
    this.client.close();
    for (const c of this.watchClients) if (c !== this.client) c.close();
  }

  private endpoints(): string {
    return this.description.slice("etcd ".length);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, what, this.endpoints());
    }
  }
}

/** One watch stream over etcd3's client (the path with username/password). */
class EtcdWatch extends WatchLifecycle {
  constructor(
    private readonly stream: IDuplexStream<IWatchRequest, IWatchResponse>,
    handlers: WatchHandlers,
    endpoints: string,
    what: string,
  ) {
    super(handlers, `etcd ${endpoints}: ${what}`);
    stream.on("data", (res) =>
      this.onResponse(
        Boolean(res.created),
        res.canceled
          ? { compactRevision: Number(res.compact_revision), reason: String(res.cancel_reason) }
          : null,
        (res.events ?? []).map((ev): [number, WatchEvent] => [
          Number(ev.kv.mod_revision),
          toEvent(ev.type, ev.kv, ev.prev_kv),
        ]),
      ),
    );
    stream.on("error", (err) => this.fail(toStoreError(err, what, endpoints)));
    stream.on("end", () => this.fail(new StoreUnavailableError(`${this.where}: stream ended`)));
  }

  protected cancelStream(): void {
    this.stream.cancel();
  }
}

function toKv(kv: IKeyValue): KeyValue {
  const out: KeyValue = {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
  if (kv.lease && kv.lease !== NO_LEASE) out.lease = String(kv.lease);
  return out;
}

function toEvent(type: string, kv: IKeyValue, prevKv?: IKeyValue | null): WatchEvent {
  const prev = prevKv ? toKv(prevKv) : undefined;
  if (type === "Delete") {
    const ev: WatchEvent = {
      type: "delete",
      key: kv.key.toString(),
      modRevision: Number(kv.mod_revision),
    };
    if (prev) ev.prev = prev;
    return ev;
  }
  const ev: WatchEvent = { type: "put", kv: toKv(kv) };
  if (prev) ev.prev = prev;
  return ev;
}

/** etcd's prefix range: [prefix, prefix with its last byte below 0xff incremented). */
function prefixRange(prefix: string): { key: Buffer; end: Buffer } {
  if (prefix === "") return { key: Buffer.from([0]), end: Buffer.from([0]) };
  const key = Buffer.from(prefix);
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return { key, end: end.subarray(0, i + 1) };
    }
  }
  return { key, end: Buffer.from([0]) };
}
