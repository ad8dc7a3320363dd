// The standalone server: domeos-server with the process runtime (each
// replica a local process through domeize) and the console on one address.
// The server brings back every stored deployment on start (same pod names,
// so the port ledger returns the same ports); close() stops pods cleanly
// (SIGTERM, grace, SIGKILL) before the store. `domeos-server --runtime
// process` is the same without the programmatic options (backoff, store
// object, confd resources for the console).
import { join } from "node:path";
import { consoleExtension } from "../console/extension.js";
import type { ConfdResource } from "../console/state.js";
import type { BackoffOptions } from "../runtime/backoff.js";
import type { DrainOptions } from "../runtime/drain.js";
import { ProcessRuntime } from "../runtime/server-adapter.js";
import { StandaloneRuntime } from "../runtime/standalone-runtime.js";
import { DEFAULT_CLUSTER } from "../server/config/config.js";
import { nodeIdentity } from "../server/lock/node-identity.js";
import type { Logger, LogLevel } from "../server/log/logger.js";
import { type RunningServer, startServer } from "../server/server.js";
import { EmbeddedStore } from "../store/embedded.js";
import type { Store } from "../store/store.js";
import { repoRoot } from "./repo-root.js";

export interface StandaloneOptions {
  /** Store (embedded by default), secret, pods' working dirs and logs. */
  dataDir: string;
  /** Address of the server (console, admin API, agent API), host:port; default 127.0.0.1:8080. */
  listen?: string;
  /** The pod store; default: the embedded store in `<dataDir>/store`. */
  store?: Store;
  adminToken?: string;
  portRange?: { min: number; max: number };
  /** The host's address for pods' hostIP/podIP (default 127.0.0.1). */
  hostIP?: string;
  /** domeos-confd resources the console shows (their healthUrl also confirms drains). */
  confd?: ConfdResource[];
  /** Extra lines for the console header. */
  info?: Record<string, string>;
  backoff?: BackoffOptions;
  /** Drain before stop; confirmUrls default to the confd resources' healthUrl. */
  drain?: DrainOptions;
  graceMs?: number;
  logLevel?: LogLevel;
  logger?: Logger;
}

export interface Standalone {
  /** domeos-server: console at `${url}/console/`, admin API at `${url}/api/`, agent API. */
  url: string;
  /** The same address (what pods use as DOMEOS_SERVER_ADDR); kept for callers of the former front door. */
  serverUrl: string;
  adminToken: string;
  store: Store;
  runtime: StandaloneRuntime;
  server: RunningServer;
  close(): Promise<void>;
}

export async function startStandalone(o: StandaloneOptions): Promise<Standalone> {
  const ownsStore = o.store === undefined;
  const store = o.store ?? new EmbeddedStore(join(o.dataDir, "store"));
  const portRange = o.portRange ?? { min: 20000, max: 20999 };
  const log = o.logger;
  const runtime = new StandaloneRuntime({
    store,
    dataDir: o.dataDir,
    clusterName: DEFAULT_CLUSTER,
    domeizeBin: join(repoRoot(), "bin", "domeize"),
    hostIP: o.hostIP,
    nodeName: nodeIdentity(o.dataDir),
    portRange,
    backoff: o.backoff,
    drain: {
      confirmUrls: [...new Set((o.confd ?? []).flatMap((c) => (c.healthUrl ? [c.healthUrl] : [])))],
      ...o.drain,
    },
    graceMs: o.graceMs,
    log,
  });
  let server: RunningServer;
  try {
    // the server itself brings back stored deployments, serves the console,
    // checks deployments for this runtime and stops the pods when it closes
    server = await startServer({
      listen: o.listen ?? "127.0.0.1:8080",
      dataDir: o.dataDir,
      clusters: { [DEFAULT_CLUSTER]: store },
      runtime: new ProcessRuntime(runtime),
      adminToken: o.adminToken,
      portRange,
      logLevel: o.logLevel ?? "warn",
      logger: o.logger,
      extend: (s) => consoleExtension(s, { confd: o.confd, info: o.info }),
    });
  } catch (err) {
    if (ownsStore) await store.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    url: server.url,
    serverUrl: server.url,
    adminToken: server.adminToken,
    store,
    runtime,
    server,
    close() {
      closing ??= (async () => {
        await server.close();
        if (ownsStore) await store.close();
      })();
      return closing;
    },
  };
}
