// confd's `etcdv3` backend (and `etcd`, which confd also serves with the v3
// client): the project's etcd store, mirrored in memory by StoreMirror.
// Flags as confd: -node (repeatable, scheme optional, default
// 127.0.0.1:2379), -client-cert/-client-key/-client-ca-keys for TLS,
// -basic-auth with -username/-password.

import { EtcdStore } from "../../store/etcd.js";
import { CompactedError, type KeyValue, StoreUnavailableError } from "../../store/store.js";
import type { BackendOptions } from "./backend.js";
import { etcdOptions } from "./etcdv3-options.js";
import { StoreMirror } from "./store-mirror.js";

/** Build the etcd v3 backend from confd's options. Throws on a malformed -node. */
export function createEtcdV3Backend(opts: BackendOptions): StoreMirror {
  const store = new EtcdStore(etcdOptions(opts));
  return new StoreMirror(store, {
    name: "etcdv3",
    watch: opts.watch ?? true,
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
