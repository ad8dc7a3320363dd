// Configuration from three layers, highest first: command-line flags,
// DOMEOS_* environment variables, a JSON or TOML file (--config). Every bad
// value names its layer and setting.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { parseDurationOrSeconds } from "../../golib/duration.js";
import { clusterNameProblem } from "../http/names.js";
import { isLogLevel } from "../log/logger.js";
import { parsePortRange, RUNTIME_NAMES, type RuntimeName, type ServerConfig } from "./config.js";

export type Layer = Partial<ServerConfig> & { configFile?: string };

export const SERVE_OPTIONS = {
  config: { type: "string" },
  listen: { type: "string" },
  "data-dir": { type: "string" },
  cluster: { type: "string", multiple: true },
  etcd: { type: "string" },
  secret: { type: "string" },
  "secret-file": { type: "string" },
  "admin-token": { type: "string" },
  "allow-unauthenticated-agents": { type: "boolean" },
  "port-range": { type: "string" },
  "allow-annotation": { type: "string", multiple: true },
  "public-url": { type: "string" },
  "sweep-interval": { type: "string" },
  "external-hold": { type: "string" },
  "request-timeout": { type: "string" },
  "log-level": { type: "string" },
  runtime: { type: "string" },
  kubeconfig: { type: "string" },
  "host-ip": { type: "string" },
  "domeize-image": { type: "string" },
  "drain-confirm-url": { type: "string", multiple: true },
  "drain-delay": { type: "string" },
  "pod-port-quota": { type: "string" },
  "agent-rate": { type: "string" },
  "agent-burst": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The layers merged: flags > env > file. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Partial<ServerConfig> {
  const flags = fromFlags(argv);
  const fromEnvLayer = fromEnv(env);
  const file = flags.configFile ?? fromEnvLayer.configFile;
  const fileLayer = file ? fromFile(file) : {};
  const merged: Layer = { ...fileLayer, ...defined(fromEnvLayer), ...defined(flags) };
  delete merged.configFile;
  return merged;
}

export function fromFlags(argv: string[]): Layer {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: SERVE_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0)
    throw new Error(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  const w = (f: string) => `flag --${f}`;
  const out: Layer = {
    configFile: v.config,
    listen: v.listen,
    dataDir: v["data-dir"],
    secret:
      v.secret ??
      (v["secret-file"] ? readSecretFile(v["secret-file"], w("secret-file")) : undefined),
    adminToken: v["admin-token"],
    allowUnauthenticatedAgents: v["allow-unauthenticated-agents"],
    publicUrl: v["public-url"],
    extraAnnotationKeys: v["allow-annotation"]?.flatMap(splitList),
  };
  if (v.cluster || v.etcd) out.clusters = clusters(v.cluster ?? [], v.etcd, w("cluster"));
  if (v["port-range"]) out.portRange = parsePortRange(v["port-range"], w("port-range"));
  if (v["sweep-interval"]) out.sweepIntervalMs = duration(v["sweep-interval"], w("sweep-interval"));
  if (v["external-hold"]) out.externalHoldMs = duration(v["external-hold"], w("external-hold"));
  if (v["request-timeout"])
    out.requestTimeoutMs = duration(v["request-timeout"], w("request-timeout"));
  if (v["log-level"]) out.logLevel = level(v["log-level"], w("log-level"));
  if (v.runtime) out.runtimeName = runtimeName(v.runtime, w("runtime"));
  if (v.kubeconfig) out.kubeconfig = v.kubeconfig;
  if (v["host-ip"]) out.hostIP = hostIP(v["host-ip"], w("host-ip"));
  if (v["domeize-image"] !== undefined)
    out.domeizeImage = imageRef(v["domeize-image"], w("domeize-image"));
  if (v["drain-confirm-url"])
    out.drainConfirmUrls = httpUrls(
      v["drain-confirm-url"].flatMap(splitList),
      w("drain-confirm-url"),
    );
  if (v["drain-delay"]) out.drainDelayMs = duration(v["drain-delay"], w("drain-delay"));
  limits(
    out,
    (k) => v[LIMIT_FLAGS[k]],
    (k) => w(LIMIT_FLAGS[k]),
  );
  return out;
}

/** Numeric limits: config field -> flag, environment variable. */
const LIMIT_FLAGS = {
  podPortQuota: "pod-port-quota",
  agentRate: "agent-rate",
  agentBurst: "agent-burst",
} as const;
const LIMIT_ENV = {
  podPortQuota: "DOMEOS_POD_PORT_QUOTA",
  agentRate: "DOMEOS_AGENT_RATE",
  agentBurst: "DOMEOS_AGENT_BURST",
} as const;
type LimitKey = keyof typeof LIMIT_FLAGS;

function limits(out: Layer, get: (k: LimitKey) => unknown, where: (k: LimitKey) => string): void {
  for (const k of Object.keys(LIMIT_FLAGS) as LimitKey[]) {
    const raw = get(k);
    if (raw === undefined || raw === "") continue;
    const n = typeof raw === "number" ? raw : Number(String(raw).trim());
    // agentRate 0 turns the rate limit off; a quota or burst needs at least 1
    const min = k === "agentRate" ? 0 : 1;
    if (!Number.isFinite(n) || n < min || n > 1e6 || (k !== "agentRate" && !Number.isInteger(n)))
      throw new Error(
        `${where(k)}: ${JSON.stringify(raw)} must be a number from ${min} to 1000000${k === "agentRate" ? "" : " (an integer)"}`,
      );
    out[k] = n;
  }
}

function runtimeName(s: string, where: string): RuntimeName {
  const name = RUNTIME_NAMES.find((n) => n === s);
  if (!name)
    throw new Error(`${where}: runtime ${JSON.stringify(s)} must be process, kubernetes or none`);
  return name;
}

export function fromEnv(env: NodeJS.ProcessEnv): Layer {
  const e = (k: string) => (env[k] === undefined || env[k] === "" ? undefined : env[k]);
  const w = (k: string) => `environment ${k}`;
  const out: Layer = {
    configFile: e("DOMEOS_CONFIG"),
    listen: e("DOMEOS_LISTEN"),
    dataDir: e("DOMEOS_DATA_DIR"),
    secret: e("DOMEOS_SECRET"),
    adminToken: e("DOMEOS_ADMIN_TOKEN"),
    publicUrl: e("DOMEOS_PUBLIC_URL"),
  };
  const unauth = e("DOMEOS_ALLOW_UNAUTHENTICATED_AGENTS");
  if (unauth !== undefined)
    out.allowUnauthenticatedAgents = bool(unauth, w("DOMEOS_ALLOW_UNAUTHENTICATED_AGENTS"));
  const cl = e("DOMEOS_CLUSTERS");
  const etcd = e("DOMEOS_ETCD");
  if (cl || etcd)
    out.clusters = clusters(
      cl ? cl.split(/[\s;]+/).filter(Boolean) : [],
      etcd,
      w("DOMEOS_CLUSTERS"),
    );
  const pr = e("DOMEOS_PORT_RANGE");
  if (pr) out.portRange = parsePortRange(pr, w("DOMEOS_PORT_RANGE"));
  const keys = e("DOMEOS_ALLOW_ANNOTATIONS");
  if (keys) out.extraAnnotationKeys = splitList(keys);
  const si = e("DOMEOS_SWEEP_INTERVAL");
  if (si) out.sweepIntervalMs = duration(si, w("DOMEOS_SWEEP_INTERVAL"));
  const eh = e("DOMEOS_EXTERNAL_HOLD");
  if (eh) out.externalHoldMs = duration(eh, w("DOMEOS_EXTERNAL_HOLD"));
  const rt = e("DOMEOS_REQUEST_TIMEOUT");
  if (rt) out.requestTimeoutMs = duration(rt, w("DOMEOS_REQUEST_TIMEOUT"));
  const ll = e("DOMEOS_LOG_LEVEL");
  if (ll) out.logLevel = level(ll, w("DOMEOS_LOG_LEVEL"));
  const rt2 = e("DOMEOS_RUNTIME");
  if (rt2) out.runtimeName = runtimeName(rt2, w("DOMEOS_RUNTIME"));
  out.kubeconfig = e("DOMEOS_KUBECONFIG");
  const hi = e("DOMEOS_HOST_IP");
  if (hi) out.hostIP = hostIP(hi, w("DOMEOS_HOST_IP"));
  // Set but empty means "no injection": not the same as unset.
  const di = env.DOMEOS_DOMEIZE_IMAGE;
  if (di !== undefined) out.domeizeImage = imageRef(di, w("DOMEOS_DOMEIZE_IMAGE"));
  const dc = e("DOMEOS_DRAIN_CONFIRM_URLS");
  if (dc) out.drainConfirmUrls = httpUrls(splitList(dc), w("DOMEOS_DRAIN_CONFIRM_URLS"));
  const dd = e("DOMEOS_DRAIN_DELAY");
  if (dd) out.drainDelayMs = duration(dd, w("DOMEOS_DRAIN_DELAY"));
  limits(
    out,
    (k) => e(LIMIT_ENV[k]),
    (k) => w(LIMIT_ENV[k]),
  );
  return out;
}

/** A container image reference, or "" (no domeize injection). */
function imageRef(s: string, where: string): string {
  if (s === "" || /^[a-z0-9][A-Za-z0-9._\-/:@]{0,511}$/.test(s)) return s;
  throw new Error(
    `${where}: ${JSON.stringify(s)} is not an image reference (e.g. registry.example/domeos/domeize:0.1.0, or "" for none)`,
  );
}

const FILE_KEYS = new Set([
  "domeizeImage",
  "listen",
  "dataDir",
  "clusters",
  "secret",
  "adminToken",
  "allowUnauthenticatedAgents",
  "portRange",
  "allowAnnotations",
  "publicUrl",
  "sweepInterval",
  "externalHold",
  "requestTimeout",
  "logLevel",
  "runtime",
  "kubeconfig",
  "hostIP",
  "drainConfirmUrls",
  "drainDelay",
  "podPortQuota",
  "agentRate",
  "agentBurst",
]);

export function fromFile(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`config file ${path}: ${(err as Error).message}`);
  }
  let o: Record<string, unknown>;
  try {
    o = (path.endsWith(".toml") ? parseToml(text) : JSON.parse(text)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `config file ${path}: not valid ${path.endsWith(".toml") ? "TOML" : "JSON"}: ${(err as Error).message}`,
    );
  }
  const w = (k: string) => `config file ${path}: ${k}`;
  for (const k of Object.keys(o)) {
    if (!FILE_KEYS.has(k))
      throw new Error(`${w(k)} is not a known setting (known: ${[...FILE_KEYS].join(", ")})`);
  }
  const str = (k: string) => {
    if (o[k] === undefined) return undefined;
    if (typeof o[k] !== "string") throw new Error(`${w(k)} must be a string`);
    return o[k] as string;
  };
  const out: Layer = {
    listen: str("listen"),
    dataDir: str("dataDir"),
    secret: str("secret"),
    adminToken: str("adminToken"),
    publicUrl: str("publicUrl"),
    domeizeImage:
      str("domeizeImage") === undefined
        ? undefined
        : imageRef(str("domeizeImage")!, w("domeizeImage")),
  };
  if (o.allowUnauthenticatedAgents !== undefined) {
    if (typeof o.allowUnauthenticatedAgents !== "boolean")
      throw new Error(`${w("allowUnauthenticatedAgents")} must be true or false`);
    out.allowUnauthenticatedAgents = o.allowUnauthenticatedAgents;
  }
  if (o.clusters !== undefined) {
    const c = o.clusters;
    if (
      !c ||
      typeof c !== "object" ||
      Array.isArray(c) ||
      !Object.values(c).every((u) => typeof u === "string")
    ) {
      throw new Error(`${w("clusters")} must map cluster names to store URLs`);
    }
    out.clusters = clusters(
      Object.entries(c).map(([k, u]) => `${k}=${u}`),
      undefined,
      w("clusters"),
    );
  }
  const pr = str("portRange");
  if (pr) out.portRange = parsePortRange(pr, w("portRange"));
  if (o.allowAnnotations !== undefined) {
    if (
      !Array.isArray(o.allowAnnotations) ||
      !o.allowAnnotations.every((x) => typeof x === "string")
    ) {
      throw new Error(`${w("allowAnnotations")} must be a list of strings`);
    }
    out.extraAnnotationKeys = o.allowAnnotations as string[];
  }
  for (const [k, f] of [
    ["sweepInterval", "sweepIntervalMs"],
    ["externalHold", "externalHoldMs"],
    ["requestTimeout", "requestTimeoutMs"],
  ] as const) {
    const s = str(k);
    if (s) out[f] = duration(s, w(k));
  }
  const ll = str("logLevel");
  if (ll) out.logLevel = level(ll, w("logLevel"));
  const rn = str("runtime");
  if (rn) out.runtimeName = runtimeName(rn, w("runtime"));
  out.kubeconfig = str("kubeconfig");
  const hi = str("hostIP");
  if (hi) out.hostIP = hostIP(hi, w("hostIP"));
  if (o.drainConfirmUrls !== undefined) {
    const u = o.drainConfirmUrls;
    if (!Array.isArray(u) || !u.every((x) => typeof x === "string"))
      throw new Error(`${w("drainConfirmUrls")} must be a list of URLs`);
    out.drainConfirmUrls = httpUrls(u as string[], w("drainConfirmUrls"));
  }
  const dd = str("drainDelay");
  if (dd) out.drainDelayMs = duration(dd, w("drainDelay"));
  limits(out, (k) => o[k], w);
  return out;
}

function clusters(
  entries: string[],
  etcd: string | undefined,
  where: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (etcd) out.default = etcd.includes("://") ? etcd : `etcd://${etcd}`;
  for (const e of entries) {
    const i = e.indexOf("=");
    if (i <= 0 || i === e.length - 1)
      throw new Error(
        `${where}: ${JSON.stringify(e)} must be NAME=STORE_URL, e.g. default=etcd://127.0.0.1:2379`,
      );
    const name = e.slice(0, i);
    const problem = clusterNameProblem(name);
    if (problem) throw new Error(`${where}: cluster name ${JSON.stringify(name)} ${problem}`);
    out[name] = e.slice(i + 1);
  }
  return out;
}

export function readSecretFile(path: string, where: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/** Node's timers hold at most 2^31-1 ms; longer settings would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration setting: Go syntax ("500ms", "1m30s") or a bare number of
 * seconds (as before); errors are Go's, prefixed with where the value was.
 */
export function duration(s: string, where: string): number {
  let ms: number;
  try {
    ms = parseDurationOrSeconds(s.trim());
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message} (Go syntax: 500ms, 30s, 1m30s, 1h)`, {
      cause: err,
    });
  }
  if (ms <= 0) throw new Error(`${where}: duration ${JSON.stringify(s)} must be positive`);
  if (ms > MAX_TIMER_MS)
    throw new Error(`${where}: duration ${JSON.stringify(s)} must be at most 596h31m23.647s`);
  return ms;
}

/** http(s) URLs (domeos-confd's /healthz), each checked. */
function httpUrls(list: string[], where: string): string[] {
  for (const s of list) {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:"))
      throw new Error(
        `${where}: ${JSON.stringify(s)} must be an http(s) URL, e.g. http://127.0.0.1:9101/healthz (domeos-confd -metrics-addr)`,
      );
  }
  return list;
}

/** An IPv4 or IPv6 address: it goes into pods' status.hostIP/podIP, which load balancers render. */
function hostIP(s: string, where: string): string {
  if (isIP(s) === 0) throw new Error(`${where}: ${JSON.stringify(s)} must be an IP address`);
  return s;
}

function bool(s: string, where: string): boolean {
  if (/^(1|true|yes|on)$/i.test(s)) return true;
  if (/^(0|false|no|off)$/i.test(s)) return false;
  throw new Error(`${where}: ${JSON.stringify(s)} must be true or false`);
}

function level(s: string, where: string) {
  if (!isLogLevel(s))
    throw new Error(`${where}: log level ${JSON.stringify(s)} must be debug, info, warn or error`);
  return s;
}

const splitList = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
