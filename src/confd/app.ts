// domeos-confd's process: settings -> backend -> resources -> mode
// (onetime, watch, or interval polling as confd's default), plus the
// optional /metrics and /healthz listener and signal handling.
//   SIGINT/SIGTERM: exit 0 (as confd).
//   SIGHUP: re-render everything (confd dies on SIGHUP).

import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { usage } from "../goflag/usage.js";
import type { Backend } from "./backends/backend.js";
import { createBackend } from "./backends/index.js";
import { LazyBackend } from "./backends/lazy-backend.js";
import { FLAG_DEFS, loadSettings, type Settings, SettingsError } from "./cli/settings.js";
import { createLogger, type Logger, levelOf } from "./log/logger.js";
import { phase } from "./log/phase-trace.js";
import type { Manager } from "./manager/manager.js";
import type { ConfdMetrics } from "./metrics/metrics.js";
import { DiscoverError, discoverResources } from "./resource/discover.js";
import { loadResource } from "./resource/resource-config.js";

export const VERSION = "0.1.0";

export interface AppIO {
  env: NodeJS.ProcessEnv;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Resolves to stop a long-running mode (tests); signals do it in production. */
  stop?: Promise<void>;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the real process). */
  signals?: boolean;
  /** Receives the running manager (tests). */
  onStarted?: (m: Manager) => void;
}

export function defaultIO(): AppIO {
  return {
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    signals: true,
  };
}

/** Runs domeos-confd; resolves to the process exit status. */
export async function runConfd(argv: readonly string[], io: AppIO = defaultIO()): Promise<number> {
  let settings: Settings;
  let warnings: string[];
  try {
    const loaded = loadSettings(argv, io.env);
    if (loaded.help) {
      io.stderr(usage("domeos-confd", FLAG_DEFS));
      return 0;
    }
    settings = loaded.settings;
    warnings = loaded.warnings;
  } catch (err) {
    io.stderr(`domeos-confd: ${(err as Error).message}\n`);
    if (err instanceof SettingsError && /flag/.test(err.message))
      io.stderr(usage("domeos-confd", FLAG_DEFS));
    return 2;
  }
  if (settings.version) {
    io.stdout(`domeos-confd ${VERSION} (confd 0.17.0-dev compatible)\n`);
    return 0;
  }
  const log = createLogger(levelOf(settings.logLevel), io.stderr);
  for (const w of warnings) log("warning", w);
  log("info", `Backend set to ${settings.backend}`);
  log("info", "Starting confd");
  if (!existsSync(settings.confdir)) {
    log("warning", `Cannot load template resources: confdir '${settings.confdir}' does not exist`);
    return 0;
  }
  // prom-client is loaded only for long-running modes (-onetime start-up time matters).
  const metrics = settings.onetime
    ? undefined
    : new (await import("./metrics/metrics.js")).ConfdMetrics({
        defaultMetrics: settings.metricsAddr !== "",
      });
  let backend: Backend;
  try {
    backend = createBackend({
      backend: settings.backend,
      nodes: settings.nodes,
      clientCert: settings.clientCert || undefined,
      clientKey: settings.clientKey || undefined,
      clientCaKeys: settings.clientCaKeys || undefined,
      scheme: settings.scheme as "http" | "https",
      clientInsecure: settings.clientInsecure,
      basicAuth: settings.basicAuth,
      username: settings.username,
      password: settings.password,
      files: settings.file,
      filter: settings.filter,
      watch: !settings.onetime,
      snapshotGuard: { maxLoss: settings.maxLineLoss },
      log,
    });
  } catch (err) {
    log("error", (err as Error).message);
    return 1;
  }
  if (metrics) {
    // etcd endpoint health, failovers, retried calls (docs/store.md), read at scrape time.
    const { registerEtcdClientMetrics } = await import("../store/etcd/metrics.js");
    registerEtcdClientMetrics(metrics.registry, () => {
      const client = backend.etcdClient?.();
      return client ? [{ label: backend.name, client }] : [];
    });
  }
  // -onetime: the backend starts reading now, while the template engine and
  // the rest of the manager load (etcd serves 40 MB meanwhile).
  phase("settings");
  if (settings.onetime) startEarly(backend, settings);
  const { Manager } = await import("./manager/manager.js");
  phase("modules loaded");
  const manager = new Manager(
    backend,
    {
      confdir: settings.confdir,
      prefix: settings.prefix,
      noop: settings.noop,
      syncOnly: settings.syncOnly,
      keepStageFile: settings.keepStageFile,
      commandTimeoutMs: settings.commandTimeoutMs,
      freezeOnBadKey: settings.freezeOnBadKey,
      wait: settings.wait,
      reloadMinIntervalMs: settings.reloadMinIntervalMs,
      retryMaxMs: settings.retryMaxMs,
      printDiff: io.stdout,
      sys: { env: io.env },
    },
    log,
    metrics,
  );
  try {
    manager.loadResources();
  } catch (err) {
    if (err instanceof DiscoverError) {
      log("error", err.message);
      return 1;
    }
    throw err;
  }
  if (!metrics) return runOnetime(manager, log);
  return runContinuously(manager, settings, metrics, log, io);
}

/**
 * Starts a lazily loaded backend on the keys of the resources (the same
 * prefixes, in the same order, as Manager.start, which then joins this
 * start). Anything unusual (no conf.d, a bad resource) is left to the
 * manager to report, in its usual order.
 */
function startEarly(backend: Backend, settings: Settings): void {
  if (!(backend instanceof LazyBackend)) return;
  const keys = new Set<string>();
  try {
    const ctx = { confdir: settings.confdir, globalPrefix: settings.prefix, warn: () => {} };
    for (const file of discoverResources(settings.confdir)) {
      for (const k of loadResource(file, ctx).backendKeys) keys.add(k);
    }
  } catch {
    return;
  }
  backend.start([...keys]).catch(() => {}); // the manager's start() gets this failure too
}

async function runOnetime(manager: Manager, log: Logger): Promise<number> {
  try {
    await manager.start();
  } catch (err) {
    log("error", `backend: ${(err as Error).message}`);
    await manager.close().catch(() => {});
    return 1;
  }
  const failed = await manager.runOnce();
  await manager.close();
  if (failed > 0) log("error", `${failed} resource(s) failed`);
  return failed > 0 ? 1 : 0;
}

async function runContinuously(
  manager: Manager,
  settings: Settings,
  metrics: ConfdMetrics,
  log: Logger,
  io: AppIO,
): Promise<number> {
  let server: Server | null = null;
  if (settings.metricsAddr !== "") {
    try {
      const { startHttpServer } = await import("./metrics/http-server.js");
      server = await startHttpServer(settings.metricsAddr, metrics, manager);
      log("info", `Serving /metrics and /healthz on ${settings.metricsAddr}`);
    } catch (err) {
      log("error", `cannot listen on ${settings.metricsAddr}: ${(err as Error).message}`);
      return 1;
    }
  }
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    stopRequested = r;
  });
  const onTerm = () => {
    log("info", "Captured terminated. Exiting...");
    stopRequested();
  };
  const onHup = () => {
    log("info", "SIGHUP: re-rendering all resources");
    manager.renderAll();
  };
  if (io.signals) {
    process.on("SIGINT", onTerm);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
  }
  io.stop?.then(() => stopRequested());
  let interval: NodeJS.Timeout | null = null;
  try {
    const started = manager.start().then(
      () => "ok" as const,
      (err) => {
        log("error", `backend: ${(err as Error).message}`);
        return "error" as const;
      },
    );
    const first = await Promise.race([started, stopped.then(() => "stopped" as const)]);
    if (first !== "ok") return first === "error" ? 1 : 0;
    io.onStarted?.(manager);
    manager.renderAll();
    // Interval mode (confd's default without -watch): re-render periodically,
    // which also restores an edited or deleted destination.
    if (!settings.watch)
      interval = setInterval(() => manager.renderAll(), settings.interval * 1000);
    await stopped;
    return 0;
  } finally {
    if (interval) clearInterval(interval);
    if (io.signals) {
      process.off("SIGINT", onTerm);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
    }
    await manager.close().catch(() => {});
    if (server) await new Promise((r) => server?.close(r));
  }
}
