// startServer(config): the HTTP server with its routes, clusters, metrics
// and background reapers. Used by main.ts, tests and the standalone demo.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EtcdClient } from "../store/etcd/client.js";
import { registerEtcdClientMetrics } from "../store/etcd/metrics.js";
import { EtcdStore } from "../store/etcd.js";
import { PrefixRoutedStore } from "../store/routed.js";
import type { Store } from "../store/store.js";
import { checkExtraKeys, type PortRange } from "./agent/annotation-policy.js";
import { KnownHosts } from "./agent/known-hosts.js";
import { PodRateLimiter } from "./agent/rate-limit.js";
import { addAgentRoutes } from "./agent/routes.js";
import { loadOrCreateSecret, randomToken } from "./auth/secret.js";
import { ClusterRegistry } from "./cluster/registry.js";
import {
  checkPortRange,
  completeConfig,
  DEFAULT_CLUSTER,
  parseListen,
  type ServerConfig,
  type ServerExtension,
} from "./config/config.js";
import { addObserveRoutes } from "./deploy/observe-routes.js";
import { type Resumer, resumeDeployments } from "./deploy/resume.js";
import { addDeployRoutes } from "./deploy/routes.js";
import { type PodRuntime, recordOnlyRuntime } from "./deploy/runtime.js";
import { toHttpError } from "./http/error-map.js";
import { sendEnvelope, sendText } from "./http/respond.js";
import { type Match, Router } from "./http/router.js";
import { type DataDirLock, lockDataDir } from "./lock/data-dir-lock.js";
import { jsonLogger, type Logger } from "./log/logger.js";
import { ServerMetrics } from "./metrics/metrics.js";

export interface RunningServer {
  /** http://host:port the server listens on. */
  url: string;
  /** The admin token in force (generated when not configured). */
  adminToken: string;
  /** The HMAC secret for pod credentials (mintPodToken). */
  secret: string;
  clusters: ClusterRegistry;
  /** Where deployments run ("none" when they are only stored). */
  runtime: PodRuntime;
  portRange: PortRange;
  close(): Promise<void>;
}

export async function startServer(partial: Partial<ServerConfig>): Promise<RunningServer> {
  const cfg = completeConfig(partial);
  if (Object.keys(cfg.clusters).length === 0) cfg.clusters = { [DEFAULT_CLUSTER]: "embedded" };
  checkPortRange(cfg.portRange, "portRange");
  checkExtraKeys(cfg.extraAnnotationKeys);
  // first: a second server on this data dir must not touch anything
  const lock = lockDataDir(cfg.dataDir);
  try {
    return await startLocked(cfg, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(cfg: ServerConfig, lock: DataDirLock): Promise<RunningServer> {
  const log = cfg.logger ?? jsonLogger(cfg.logLevel);
  const secret = cfg.secret ?? loadOrCreateSecret(cfg.dataDir).secret;
  const adminToken = cfg.adminToken ?? randomToken();
  const { host, port } = parseListen(cfg.listen);
  if (!cfg.runtime && cfg.runtimeName === "kubernetes") {
    const { KubernetesRuntime } = await import("./deploy/kubernetes-runtime.js");
    cfg.runtime = KubernetesRuntime.fromOptions({ kubeconfig: cfg.kubeconfig });
  }

  let url = "";
  const serverAddr = () => cfg.publicUrl ?? url;
  let clusters: ClusterRegistry | null = null;
  const metrics = new ServerMetrics(
    () => clusters?.usage() ?? Promise.resolve([]),
    cfg.portRange.max - cfg.portRange.min + 1,
  );
  clusters = await ClusterRegistry.open(cfg, metrics, log);
  const reg = clusters;
  // etcd endpoint health, failovers, retried calls (docs/store.md).
  registerEtcdClientMetrics(metrics.registry, () =>
    reg.all().flatMap((c) => etcdClientsOf(c.store).map((client) => ({ label: c.name, client }))),
  );
  let ext: ServerExtension | null = null;
  let router: Router; // set before the server listens
  // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval
  // (30 s by default), which made the documented 10 s / 30 s limits ~30 s / ~55 s.
  const server = createServer(
    { connectionsCheckingInterval: 1000 },
    (req, res) => void handle(req, res, router, ext, metrics, log),
  );
  try {
    cfg.runtime ??= await namedRuntime(cfg, reg, log);
    router = buildRouter(cfg, reg, metrics, { secret, adminToken, serverAddr, log });
    server.requestTimeout = cfg.requestTimeoutMs;
    server.headersTimeout = Math.min(10_000, cfg.requestTimeoutMs);
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    await reg.close();
    throw err;
  }
  const runtime = cfg.runtime;
  const addr = server.address() as AddressInfo;
  url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  reg.startReapers();

  log.info(`domeos-server listening on ${url}`, {
    listen: url,
    stores: Object.fromEntries(reg.all().map((c) => [c.name, c.store.description])),
    portRange: `${cfg.portRange.min}-${cfg.portRange.max}`,
    runtime: runtime.name,
  });
  if (cfg.allowUnauthenticatedAgents) {
    log.warn(
      "--allow-unauthenticated-agents is on: agents may report without a credential (keys and values are still checked)",
    );
  }
  if (cfg.adminToken === undefined)
    log.info("generated admin token (set --admin-token to choose one)", { adminToken });

  let closing: Promise<void> | null = null;
  let resumer: Resumer | null = null;
  const running: RunningServer = {
    url,
    adminToken,
    secret,
    clusters: reg,
    runtime,
    portRange: cfg.portRange,
    close() {
      closing ??= (async () => {
        resumer?.stop();
        await ext?.close?.();
        // pods first, while the agent API still answers them; they stay in the store
        await runtime.stop?.();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await reg.close();
        lock.release();
      })();
      return closing;
    },
  };
  try {
    resumer = await resumeDeployments(reg, runtime, { secret, serverAddr, log });
    if (cfg.extend) ext = await cfg.extend(running);
  } catch (err) {
    await running.close();
    throw err;
  }
  return running;
}

/** The runtime named by --runtime when none was given as an object. */
async function namedRuntime(
  cfg: ServerConfig,
  clusters: ClusterRegistry,
  log: Logger,
): Promise<PodRuntime> {
  if (cfg.runtimeName !== "process") return recordOnlyRuntime;
  if (!clusters.all().some((c) => c.name === DEFAULT_CLUSTER)) {
    throw new Error(
      `runtime process runs the deployments of cluster "${DEFAULT_CLUSTER}", which is not configured (add --cluster ${DEFAULT_CLUSTER}=STORE, or use --runtime none)`,
    );
  }
  const { processRuntime } = await import("../runtime/process-runtime.js");
  return processRuntime({
    store: clusters.get(DEFAULT_CLUSTER).store,
    clusterName: DEFAULT_CLUSTER,
    dataDir: cfg.dataDir,
    portRange: cfg.portRange,
    hostIP: cfg.hostIP,
    drain: { confirmUrls: cfg.drainConfirmUrls, delayMs: cfg.drainDelayMs },
    log,
  });
}

interface Ids {
  secret: string;
  adminToken: string;
  serverAddr: () => string;
  log: Logger;
}

function buildRouter(
  cfg: ServerConfig,
  clusters: ClusterRegistry,
  metrics: ServerMetrics,
  ids: Ids,
): Router {
  const router = new Router();
  router.add("GET", "/healthz", "healthz", async ({ res }) => sendText(res, 200, "ok\n"));
  router.add("GET", "/readyz", "readyz", async ({ res }) => {
    const problems: string[] = [];
    await Promise.all(
      clusters.all().map(async (c) => {
        try {
          await withTimeout(c.store.revision(), 3000, `store of cluster ${c.name}`);
        } catch (err) {
          problems.push(`cluster ${c.name} (${c.store.description}): ${(err as Error).message}`);
        }
      }),
    );
    if (problems.length > 0) sendText(res, 503, `not ready: ${problems.join("; ")}\n`);
    else sendText(res, 200, "ready\n");
  });
  router.add("GET", "/metrics", "metrics", async ({ res }) => {
    sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
  });
  addAgentRoutes(router, {
    clusters,
    secret: ids.secret,
    allowUnauthenticated: cfg.allowUnauthenticatedAgents,
    policy: { portRange: cfg.portRange, extraKeys: cfg.extraAnnotationKeys },
    bodyLimit: cfg.bodyLimit,
    log: ids.log,
    quota: { defaultQuota: cfg.podPortQuota },
    knownHosts: new KnownHosts(cfg.hostIP ? [cfg.hostIP] : []),
    rateLimit: new PodRateLimiter({ rate: cfg.agentRate, burst: cfg.agentBurst }),
  });
  const deployDeps = {
    clusters,
    adminToken: ids.adminToken,
    secret: ids.secret,
    serverAddr: ids.serverAddr,
    portRange: cfg.portRange,
    domeizeImage: cfg.domeizeImage,
    runtime: cfg.runtime ?? recordOnlyRuntime,
    bodyLimit: cfg.bodyLimit,
    log: ids.log,
  };
  addDeployRoutes(router, deployDeps);
  addObserveRoutes(router, deployDeps);
  return router;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  router: Router,
  ext: ServerExtension | null,
  metrics: ServerMetrics,
  log: Logger,
): Promise<void> {
  const start = process.hrtime.bigint();
  let routeName = "unmatched";
  res.once("finish", () => {
    const labels = { route: routeName, method: req.method ?? "", code: String(res.statusCode) };
    metrics.requests.inc(labels);
    metrics.latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
  });
  req.url = collapseLeadingSlashes(req.url ?? "/");
  try {
    if (ext && (await ext.handle(req, res))) {
      routeName = "extension";
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    const m: Match = router.match(req.method ?? "GET", url.pathname);
    routeName = m.route.name;
    await m.route.handler({ req, res, params: m.params, query: url.searchParams });
  } catch (err) {
    const h = toHttpError(err);
    if (h.status === 408)
      log.warn("slow client: request not received in time", {
        route: routeName,
        method: req.method,
        url: req.url,
        remote: req.socket.remoteAddress,
        reason: h.message,
      });
    else if (h.status >= 500)
      log.error("request failed", {
        route: routeName,
        method: req.method,
        url: req.url,
        status: h.status,
        err,
      });
    else
      log.debug("request rejected", {
        route: routeName,
        url: req.url,
        status: h.status,
        msg: h.message,
      });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendEnvelope(res, h.status, h.message, null, h.headers);
    // Unread request data (e.g. a 413 body) must not be parsed as the next request.
    if (!req.complete) req.resume();
  }
}

/**
 * domeize joins DOMEOS_SERVER_ADDR and "/api/..." verbatim, so an address with
 * a trailing slash sends "//api/..." (the original server answered it). As a
 * URL, "//api/x" would name the host "api": the leading run of slashes is one.
 */
export function collapseLeadingSlashes(target: string): string {
  return target.replace(/^\/{2,}/, "/");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** The etcd clients behind a cluster's store (both parts of a kubernetes:?others= store). */
function etcdClientsOf(store: Store): EtcdClient[] {
  if (store instanceof EtcdStore) return [store.client];
  if (store instanceof PrefixRoutedStore) return store.parts.flatMap(etcdClientsOf);
  return [];
}
