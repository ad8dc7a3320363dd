// confd's `etcdv3` backend (and `etcd`, which confd also serves with the v3
// client): the project's etcd store, mirrored in memory by StoreMirror.
// Flags as confd: -node (repeatable, scheme optional, default
// 127.0.0.1:2379), -client-cert/-client-key/-client-ca-keys for TLS,
// -basic-auth with -username/-password. Snapshots, the watch and readAt all
// go through the store's one etcd client (src/store/etcd/client.ts):
// endpoint failover, watch resume, token auth and TLS on one path.

import { EtcdStore } from "../../store/etcd.js";
import type { BackendOptions } from "./backend.js";
import { etcdOptions } from "./etcdv3-options.js";
import { StoreMirror } from "./store-mirror.js";

/** Build the etcd v3 backend from confd's options. Throws on a malformed -node. */
export function createEtcdV3Backend(opts: BackendOptions): StoreMirror {
  const store = new EtcdStore(etcdOptions(opts));
  return new StoreMirror(store, {
    name: "etcdv3",
    watch: opts.watch ?? true,
    snapshotGuard: opts.snapshotGuard,
    log: opts.log,
    ownsStore: true,
    // A key as of a past revision: lets the mirror tell a restarted etcd from a replaced one.
    readAt: (key, revision) => store.readAt(key, revision),
    etcdClient: store.client,
  });
}
