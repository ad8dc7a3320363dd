// confd's `etcdv3` backend (and `etcd`, which confd also serves with the v3
// client): the project's etcd store, mirrored in memory by StoreMirror.
// Flags as confd: -node (repeatable, scheme optional, default
// 127.0.0.1:2379), -client-cert/-client-key/-client-ca-keys for TLS,
// -basic-auth with -username/-password.

import { EtcdStore } from "../../store/etcd.js";
import {
  CompactedError,
  type KeyValue,
  type ListResult,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type WatchHandlers,
} from "../../store/store.js";
import type { BackendOptions } from "./backend.js";
import { EtcdRangeReader } from "./etcd-range-reader.js";
import { etcdOptions } from "./etcdv3-options.js";
import { StoreMirror } from "./store-mirror.js";

/** Build the etcd v3 backend from confd's options. Throws on a malformed -node. */
export function createEtcdV3Backend(opts: BackendOptions): StoreMirror {
  const options = etcdOptions(opts);
  const store = new EtcdStore(options);
  // Snapshots (40 MB at 10,000 pods) through the lean Range reader: a third
  // of the full client's time and no pile of protobuf buffers left for GC
  // and malloc (bench/results/confd.md). Basic auth needs the full client.
  const snapshots = options.username === undefined ? new EtcdRangeReader(options) : null;
  return new StoreMirror(snapshots ? new LeanListing(store, snapshots) : store, {
    name: "etcdv3",
    watch: opts.watch ?? true,
    snapshotGuard: opts.snapshotGuard,
    log: opts.log,
    ownsStore: true,
    readAt: (key, revision) => readAt(store, key, revision),
  });
}

/** A key as of a past revision: lets the mirror tell a restarted etcd from a replaced one. */
async function readAt(store: EtcdStore, key: string, revision: number): Promise<KeyValue | null> {
  try {
    const res = await store.client.kv.range(
      { key: Buffer.from(key), revision },
      { deadline: Date.now() + 3000 },
    );
    const kv = res.kvs[0];
    if (!kv) return null;
    return {
      key,
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/compacted/i.test(msg)) throw new CompactedError(0, `${store.description}: ${msg}`);
    throw new StoreUnavailableError(`${store.description}: read ${key} at ${revision}: ${msg}`);
  }
}

/** The full etcd store with `list` served by the Range reader (same revision semantics and errors). */
class LeanListing implements Store {
  readonly description: string;
  constructor(
    private readonly store: EtcdStore,
    private readonly reader: EtcdRangeReader,
  ) {
    this.description = store.description;
  }
  list(prefix: string): Promise<ListResult> {
    return this.reader.list(prefix);
  }
  get(key: string) {
    return this.store.get(key);
  }
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers) {
    return this.store.watch(prefix, fromRevision, handlers);
  }
  put(key: string, value: string, opts?: PutOptions) {
    return this.store.put(key, value, opts);
  }
  delete(key: string, opts?: { expectModRevision?: number }) {
    return this.store.delete(key, opts);
  }
  grantLease(ttlSeconds: number) {
    return this.store.grantLease(ttlSeconds);
  }
  revision() {
    return this.store.revision();
  }
  async close(): Promise<void> {
    await Promise.all([this.reader.close(), this.store.close()]);
  }
}
