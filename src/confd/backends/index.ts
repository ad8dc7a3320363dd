// Backend factory by confd's -backend name.

import type { Backend, BackendOptions } from "./backend.js";
import { EnvBackend } from "./env.js";
import { createEtcdV3Backend } from "./etcdv3.js";
import { FileBackend } from "./file.js";
import { createEmbeddedBackend } from "./store.js";

export const BACKENDS = ["etcdv3", "etcd", "embedded", "file", "env"] as const;

export function createBackend(opts: BackendOptions): Backend {
  switch (opts.backend) {
    case "etcd":
      // confd serves "etcd" with its v3 client too (no etcd v2 API here either).
      opts.log?.("info", 'backend "etcd" uses the etcd v3 API, same as "etcdv3"');
      return createEtcdV3Backend(opts);
    case "etcdv3":
      return createEtcdV3Backend(opts);
    case "embedded":
      return createEmbeddedBackend(opts);
    case "file":
      return new FileBackend({
        files: opts.files ?? [],
        filter: opts.filter,
        watch: opts.watch,
        log: opts.log,
      });
    case "env":
      return new EnvBackend();
    default:
      throw new Error(
        `-backend ${JSON.stringify(opts.backend)} is not supported: use ${BACKENDS.join(", ")}`,
      );
  }
}
