// Backend factory by confd's -backend name. Options are validated here, at
// once; the etcd and Kubernetes client modules load only when their backend
// starts (LazyBackend).

import type { Backend, BackendOptions } from "./backend.js";
import { EnvBackend } from "./env.js";
import { etcdOptions } from "./etcdv3-options.js";
import { FileBackend } from "./file.js";
import { LazyBackend } from "./lazy-backend.js";
import { createEmbeddedBackend } from "./store.js";

export const BACKENDS = ["etcdv3", "etcd", "embedded", "kubernetes", "file", "env"] as const;

export function createBackend(opts: BackendOptions): Backend {
  switch (opts.backend) {
    case "etcd":
      // confd serves "etcd" with its v3 client too (no etcd v2 API here either).
      opts.log?.("info", 'backend "etcd" uses the etcd v3 API, same as "etcdv3"');
      return etcdBackend(opts);
    case "etcdv3":
      return etcdBackend(opts);
    case "embedded":
      return createEmbeddedBackend(opts);
    case "kubernetes":
      if (opts.nodes.length > 1) {
        throw new Error(
          `kubernetes backend: one -node (kubeconfig or API URL), got ${opts.nodes.length}`,
        );
      }
      return new LazyBackend("kubernetes", async () =>
        (await import("./kubernetes.js")).createKubernetesBackend(opts),
      );
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

function etcdBackend(opts: BackendOptions): Backend {
  etcdOptions(opts); // a bad -node or TLS flag fails now, not at start
  if (opts.watch === false) {
    // -onetime (with or without -basic-auth): the read-only range reader on
    // the same etcd client, values sliced from page strings.
    return new LazyBackend("etcdv3", async () =>
      (await import("./etcdv3-onetime.js")).createEtcdOnetimeBackend(opts),
    );
  }
  return new LazyBackend("etcdv3", async () =>
    (await import("./etcdv3.js")).createEtcdV3Backend(opts),
  );
}
