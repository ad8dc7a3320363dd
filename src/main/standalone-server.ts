// The standalone server: domeos-server with the process runtime (each
// replica a local process through domeize), the console, and a front door
// that serves both on one address. On start it brings back every stored
// deployment (same pod names, so the port ledger returns the same ports);
// close() stops pods cleanly (SIGTERM, grace, SIGKILL) before the store.
import { join } from "node:path";
import { Console } from "../console/handler.js";
import type { ConfdResource } from "../console/state.js";
import type { BackoffOptions } from "../runtime/backoff.js";
import { ProcessRuntime } from "../runtime/server-adapter.js";
import { StandaloneRuntime } from "../runtime/standalone-runtime.js";
import { parseListen } from "../server/config/config.js";
import { deployContext } from "../server/deploy/routes.js";
import type { Logger, LogLevel } from "../server/log/logger.js";
import { type RunningServer, startServer } from "../server/server.js";
import { EmbeddedStore } from "../store/embedded.js";
import type { Store } from "../store/store.js";
import { startFront } from "./front.js";
import { repoRoot } from "./repo-root.js";

export interface StandaloneOptions {
  /** Store (embedded by default), secret, pods' working dirs and logs. */
  dataDir: string;
  /** Front address (console + admin API), host:port; default 127.0.0.1:8080. */
  listen?: string;
  /** The pod store; default: the embedded store in `<dataDir>/store`. */
  store?: Store;
  adminToken?: string;
  portRange?: { min: number; max: number };
  /** The host's address for pods' hostIP/podIP (default 127.0.0.1). */
  hostIP?: string;
  /** domeos-confd resources the console shows. */
  confd?: ConfdResource[];
  /** Extra lines for the console header. */
  info?: Record<string, string>;
  backoff?: BackoffOptions;
  drainMs?: number;
  graceMs?: number;
  logLevel?: LogLevel;
  logger?: Logger;
}

export interface Standalone {
  /** The front door: console at `${url}/console/`, admin API at `${url}/api/`. */
  url: string;
  /** domeos-server itself (what pods use as DOMEOS_SERVER_ADDR). */
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
    clusterName: "default",
    domeizeBin: join(repoRoot(), "bin", "domeize"),
    hostIP: o.hostIP,
    portRange,
    backoff: o.backoff,
    drainMs: o.drainMs,
    graceMs: o.graceMs,
    log: (msg) => log?.info(msg, { component: "runtime" }),
  });
  const server = await startServer({
    listen: "127.0.0.1:0",
    dataDir: o.dataDir,
    clusters: { default: store },
    runtime: new ProcessRuntime(runtime),
    adminToken: o.adminToken,
    portRange,
    logLevel: o.logLevel ?? "warn",
    logger: o.logger,
  });
  await restore(server, runtime);
  const console = new Console({
    store,
    adminToken: server.adminToken,
    portRange,
    confd: o.confd ?? [],
    info: { store: store.description, server: server.url, ...(o.info ?? {}) },
    logPaths: (ns, pod) => runtime.paths(ns, pod),
  });
  const front = await startFront({
    listen: parseListen(o.listen ?? "127.0.0.1:8080"),
    backend: server.url,
    console,
  });
  let closing: Promise<void> | null = null;
  return {
    url: front.url,
    serverUrl: server.url,
    adminToken: server.adminToken,
    store,
    runtime,
    server,
    close() {
      closing ??= (async () => {
        await front.close();
        await console.close();
        await runtime.stop();
        await server.close();
        if (ownsStore) await store.close();
      })();
      return closing;
    },
  };
}

/** Bring back every stored deployment of the default cluster. */
async function restore(server: RunningServer, runtime: StandaloneRuntime): Promise<void> {
  const adapter = new ProcessRuntime(runtime);
  const deps = { secret: server.secret, serverAddr: () => server.url };
  for (const d of await server.clusters.get("default").deployments.list()) {
    if (!d.command) continue; // image-only: a Kubernetes deployment, not ours to run
    await adapter.ensure(d, deployContext(d, deps));
  }
}
