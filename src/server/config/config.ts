// The server's configuration: one typed object, with defaults. Loading it
// from flags, environment and a file is config/load.ts.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "../../store/store.js";
import type { PortRange } from "../agent/annotation-policy.js";
import type { PodRuntime } from "../deploy/runtime.js";
import type { Logger, LogLevel } from "../log/logger.js";
import type { RunningServer } from "../server.js";

export interface ServerConfig {
  /** host:port to listen on; port 0 picks a free one. */
  listen: string;
  /** Directory of the embedded store and the generated agent secret. */
  dataDir: string;
  /** Cluster name -> store URL (see docs/server.md) or an open Store. */
  clusters: Record<string, string | Store>;
  /** HMAC secret for pod credentials; read/created in dataDir when unset. */
  secret?: string;
  /** Bearer token for admin endpoints; generated and printed when unset. */
  adminToken?: string;
  /** Accept agent writes without a credential (migration of old images). */
  allowUnauthenticatedAgents: boolean;
  /** Range of AUTO_PORT values and of the port ledger (inclusive). */
  portRange: PortRange;
  /** Annotation keys agents may write in addition to AUTO_PORT*. */
  extraAnnotationKeys: string[];
  /**
   * Image of the domeize injection init container in Kubernetes manifests
   * [DEFAULT_DOMEIZE_IMAGE]; "" = no injection, the app images have domeize on PATH.
   */
  domeizeImage?: string;
  /** Address pods use to reach the server (DOMEOS_SERVER_ADDR); default http://<listen>. */
  publicUrl?: string;
  /** Request body limit in bytes (413 above). */
  bodyLimit: number;
  /** Whole-request timeout (ms). */
  requestTimeoutMs: number;
  /** Sweep period of the port ledger (ms). */
  sweepIntervalMs: number;
  /** How long a port reported busy by an agent stays out of circulation (ms). */
  externalHoldMs: number;
  /** Ledger ports a pod may hold when neither its spec nor its deployment declares a count. */
  podPortQuota: number;
  /** Agent writes per second per pod (token bucket refill; 0: no limit). */
  agentRate: number;
  /** Agent writes a pod may make at once (token bucket size). */
  agentBurst: number;
  logLevel: LogLevel;
  /** Where deployments run (default: none; the server only stores them and renders manifests). */
  runtime?: PodRuntime;
  /**
   * Named runtime when `runtime` is not given: "none" (the default here; the
   * CLI defaults to "process"), "kubernetes", or "process" (each replica a
   * local process through domeize, for cluster "default").
   */
  runtimeName?: RuntimeName;
  /** The host's address given to process-runtime pods as hostIP/podIP (default 127.0.0.1). */
  hostIP?: string;
  /**
   * domeos-confd /healthz URLs that confirm a process-runtime pod is out of
   * routing before its SIGTERM (docs/standalone.md, "Drain before stop").
   */
  drainConfirmUrls?: string[];
  /** The fixed drain pause when no confd confirms (default 3 s). */
  drainDelayMs?: number;
  /**
   * Extra routes served on the same address (e.g. the console), built once
   * the server listens; asked first, before the server's own routes.
   */
  extend?: (server: RunningServer) => ServerExtension | Promise<ServerExtension>;
  /** kubeconfig for the kubernetes runtime (default: in-cluster, then ~/.kube/config). */
  kubeconfig?: string;
  /** Logger override (tests). */
  logger?: Logger;
}

export type RuntimeName = "none" | "kubernetes" | "process";
export const RUNTIME_NAMES: readonly RuntimeName[] = ["none", "kubernetes", "process"];

export interface ServerExtension {
  /** Handle the request if it is the extension's; false lets the server route it. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Called first when the server closes. */
  close?(): Promise<void>;
}

export const DEFAULT_CLUSTER = "default";

export function defaultConfig(): ServerConfig {
  return {
    listen: "127.0.0.1:8080",
    dataDir: "./.data",
    clusters: {},
    allowUnauthenticatedAgents: false,
    portRange: { min: 20000, max: 20999 },
    extraAnnotationKeys: [],
    bodyLimit: 64 * 1024,
    requestTimeoutMs: 30_000,
    sweepIntervalMs: 60_000,
    externalHoldMs: 2 * 60_000,
    podPortQuota: 20,
    agentRate: 50,
    agentBurst: 100,
    logLevel: "info",
  };
}

/**
 * The `domeos-server` command's runtime when none is named: "process" (host-mode
 * deployments run here), unless cluster "default" is not configured or lives
 * in Kubernetes (`kubernetes:` store), where local processes make no sense.
 */
export function cliRuntimeName(c: Partial<ServerConfig>): RuntimeName {
  if (c.runtimeName) return c.runtimeName;
  if (c.runtime) return c.runtime.name === "process" ? "process" : "none";
  if (!c.clusters || Object.keys(c.clusters).length === 0) return "process";
  const store = c.clusters[DEFAULT_CLUSTER];
  if (store === undefined) return "none";
  if (typeof store === "string" && store.startsWith("kubernetes:")) return "none";
  return "process";
}

/** A config with every field filled: defaults under `partial`. */
export function completeConfig(partial: Partial<ServerConfig>): ServerConfig {
  return { ...defaultConfig(), ...stripUndefined(partial) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Parse "20000-20999" into a checked range. */
export function parsePortRange(s: string, where: string): PortRange {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(s);
  if (!m) throw new Error(`${where}: port range ${JSON.stringify(s)} must look like 20000-20999`);
  const range = { min: Number(m[1]), max: Number(m[2]) };
  checkPortRange(range, where);
  return range;
}

export function checkPortRange(r: PortRange, where: string): void {
  if (
    !Number.isInteger(r.min) ||
    !Number.isInteger(r.max) ||
    r.min < 1024 ||
    r.max > 65535 ||
    r.min > r.max
  ) {
    throw new Error(
      `${where}: port range ${r.min}-${r.max} must be within 1024-65535 with min <= max`,
    );
  }
}

/** Split "127.0.0.1:8080" / "[::1]:8080" / ":8080". */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  if (!m)
    throw new Error(`listen address ${JSON.stringify(s)} must be host:port, e.g. 127.0.0.1:8080`);
  const port = Number(m[3]);
  if (port > 65535)
    throw new Error(`listen address ${JSON.stringify(s)}: port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
