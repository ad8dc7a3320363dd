// `--runtime process`: the standalone runtime as domeos-server builds it from
// its own settings (the cluster's store, the data dir, the port range), each
// replica started through this package's bin/domeize.
import { join } from "node:path";
import { repoRoot } from "../main/repo-root.js";
import { nodeIdentity } from "../server/lock/node-identity.js";
import type { Logger } from "../server/log/logger.js";
import type { Store } from "../store/store.js";
import type { DrainOptions } from "./drain.js";
import { ProcessRuntime } from "./server-adapter.js";
import { StandaloneRuntime } from "./standalone-runtime.js";

export interface ProcessRuntimeSettings {
  /** The store of the cluster whose deployments run here. */
  store: Store;
  clusterName: string;
  /** Pods' working dirs and logs go under `<dataDir>/pods/`. */
  dataDir: string;
  portRange: { min: number; max: number };
  /** The host's address for pods' hostIP/podIP (default 127.0.0.1). */
  hostIP?: string;
  /** How a stopping pod is confirmed out of routing (drain.ts). */
  drain?: DrainOptions;
  log?: Logger;
}

export function processRuntime(s: ProcessRuntimeSettings): ProcessRuntime {
  return new ProcessRuntime(
    new StandaloneRuntime({
      store: s.store,
      dataDir: s.dataDir,
      clusterName: s.clusterName,
      domeizeBin: join(repoRoot(), "bin", "domeize"),
      hostIP: s.hostIP,
      nodeName: nodeIdentity(s.dataDir),
      portRange: s.portRange,
      drain: s.drain,
      log: s.log,
    }),
  );
}
