// The etcdv3 backend for -onetime: one snapshot through the lean Range
// reader (the store's etcd client, values sliced from page strings), no watch.

import type { BackendOptions } from "./backend.js";
import { EtcdRangeReader } from "./etcd-range-reader.js";
import { etcdOptions } from "./etcdv3-options.js";
import { StoreMirror } from "./store-mirror.js";

export function createEtcdOnetimeBackend(opts: BackendOptions): StoreMirror {
  return new StoreMirror(new EtcdRangeReader(etcdOptions(opts), undefined, true), {
    name: "etcdv3",
    watch: false,
    snapshotGuard: opts.snapshotGuard,
    log: opts.log,
    ownsStore: true,
  });
}
