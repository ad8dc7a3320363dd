// Backends over the server's own stores: `embedded` here (the SQLite store a
// domeos-server keeps in its data directory, read from another process) and
// `kubernetes` in kubernetes.ts. Both are mirrored exactly like etcd:
// snapshot, then watch.

import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Backend, BackendOptions } from "./backend.js";
import { LazyBackend } from "./lazy-backend.js";

const STORE_FILE = "store.db";

/**
 * `-backend embedded -node DIR`: DIR is the store directory (holding
 * store.db) or a domeos-server --data-dir (holding store/store.db). Default
 * ./.data, the server's default. A missing store is an error, never a fresh
 * empty one: an empty view would render an upstream without servers.
 */
export function createEmbeddedBackend(opts: BackendOptions): Backend {
  if (opts.nodes.length > 1) {
    throw new Error(`embedded backend: one -node (the store directory), got ${opts.nodes.length}`);
  }
  const dir = findStoreDir(opts.nodes[0] ?? "./.data");
  // SQLite (better-sqlite3) and the mirror load only when this backend starts.
  return new LazyBackend("embedded", async () => {
    const [{ EmbeddedStore }, { StoreMirror }] = await Promise.all([
      import("../../store/embedded.js"),
      import("./store-mirror.js"),
    ]);
    // Another process (the server) writes the store: its changes are seen by
    // polling SQLite's data_version (a few µs). Every 20 ms, not the store's
    // default 100 ms: a pod change reaches nginx's member list (dynamic
    // endpoints) or the file within tens of ms (docs/nginx-dynamic.md).
    return new StoreMirror(new EmbeddedStore(dir, { pollMs: 20 }), {
      name: "embedded",
      watch: opts.watch ?? true,
      snapshotGuard: opts.snapshotGuard,
      log: opts.log,
      ownsStore: true,
    });
  });
}

function findStoreDir(node: string): string {
  const given = resolve(node);
  for (const dir of [given, join(given, "store")]) {
    const file = join(dir, STORE_FILE);
    if (existsSync(file) && statSync(file).isFile()) return dir;
  }
  throw new Error(
    `embedded backend: -node ${JSON.stringify(node)}: no ${STORE_FILE} in ${given} or ${join(given, "store")} (give the store directory or the server's --data-dir)`,
  );
}
