// Environment inputs, validated before anything is allocated or reported.
// A bad value stops domeize with a message naming the variable and value.

import { type NeedPorts, parseNeedPorts } from "../auto-port/need-ports.js";
import { DurationError, mustParseDuration } from "../golib/duration.js";
import { EXIT, fail } from "./exit.js";

export interface PodIdentity {
  /** DOMEOS_SERVER_ADDR: one or more base URLs (comma-separated), tried in turn. */
  readonly servers: readonly string[];
  readonly cluster: string;
  readonly namespace: string;
  readonly pod: string;
  /** DOMEIZE_CONTAINER; empty for the primary (or only) container. */
  readonly container: string;
  readonly token: string | undefined;
  /** MY_POD_UID (the downward API's metadata.uid): exchanges a deployment token for the pod's own. */
  readonly uid?: string;
  /** HOST_IP (the downward API's status.hostIP): the ledger's `host` field. */
  readonly hostIp: string | undefined;
}

export interface EnvConfig {
  /** 0 = no port step. */
  readonly needPorts: number;
  /** NEED_PORTS=http,admin: the ports' names in index order (AUTO_PORT_HTTP ...); else empty. */
  readonly portNames: readonly string[];
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** Present when needPorts > 0. */
  readonly pod: PodIdentity | undefined;
  /** DOMEIZE_TEMPLATES entries, trimmed, empty ones dropped. */
  readonly templates: string[];
  readonly networkMode: string;
  readonly stateDir: string;
  readonly reportDeadlineMs: number | undefined;
  readonly reportTimeoutMs: number | undefined;
  /** How long a lease whose owner cannot be checked counts as live. */
  readonly leaseTtlMs: number;
  /** DOMEIZE_PORT_LEDGER=off: never ask the server to allocate. */
  readonly useLedger: boolean;
}

type Env = NodeJS.ProcessEnv;

function bad(name: string, value: string, why: string): never {
  return fail(EXIT.env, `invalid ${name}=${JSON.stringify(value)}: ${why}`);
}

function needPortsOf(env: Env): NeedPorts {
  const raw = env.NEED_PORTS ?? "";
  if (raw === "") return { count: 0, names: [] };
  try {
    return parseNeedPorts(raw);
  } catch (err) {
    return bad("NEED_PORTS", raw, (err as Error).message);
  }
}

function integer(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  if (!/^\d+$/.test(raw)) return bad(name, raw, "expected a decimal integer");
  const n = Number(raw);
  if (n < min || n > max) return bad(name, raw, `expected ${min}..${max}`);
  return n;
}

// Kubernetes names: DNS-1123 subdomains (pod names) and labels (namespaces).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CLUSTER = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/;

function named(env: Env, name: string, re: RegExp, what: string): string {
  const raw = env[name] ?? "";
  if (raw !== "" && !re.test(raw)) return bad(name, raw, `expected ${what}`);
  return raw;
}

function serverAddr(name: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return bad(name, raw, "expected a URL with scheme, e.g. http://domeos:8080");
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "") {
    return bad(name, raw, "expected an http:// or https:// URL with a host");
  }
  if (u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "") {
    return bad(name, raw, "no query, fragment or credentials allowed");
  }
  // A trailing '/' (or several): the paths are appended with their own.
  return raw.replace(/\/+$/, "");
}

/** DOMEOS_SERVER_ADDR: comma-separated base URLs (spaces around them ignored). */
function serverAddrs(env: Env): string[] {
  const raw = env.DOMEOS_SERVER_ADDR ?? "";
  const parts = raw.split(",").map((s) => s.trim());
  if (parts.some((p) => p === "")) {
    return bad("DOMEOS_SERVER_ADDR", raw, "an empty entry in the comma-separated list");
  }
  return parts.map((p) => serverAddr("DOMEOS_SERVER_ADDR", p));
}

function podUid(env: Env): string | undefined {
  const raw = env.MY_POD_UID ?? "";
  // only a credential exchange uses it: an odd value is left out, not fatal
  return /^[\x21-\x7e]{1,256}$/.test(raw) ? raw : undefined;
}

function token(env: Env): string | undefined {
  const raw = env.DOMEOS_AGENT_TOKEN;
  if (raw === undefined || raw === "") return undefined;
  if (!/^[\x21-\x7e]+$/.test(raw)) {
    return fail(
      EXIT.env,
      "invalid DOMEOS_AGENT_TOKEN: only printable ASCII without spaces allowed",
    );
  }
  return raw;
}

const REQUIRED_WITH_PORTS = [
  "DOMEOS_SERVER_ADDR",
  "CLUSTER_NAME",
  "MY_POD_NAMESPACE",
  "MY_POD_NAME",
] as const;

// node:net's isIP would load node:net (milliseconds of every start).
function isIpAddress(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4 !== null) return v4.slice(1).every((o) => Number(o) <= 255 && !/^0\d/.test(o));
  return s.includes(":") && /^[0-9A-Fa-f:.]{2,45}$/.test(s) && s.split("::").length <= 2;
}

function hostIp(env: Env): string | undefined {
  const raw = env.HOST_IP ?? "";
  if (raw === "") return undefined;
  if (!isIpAddress(raw)) return bad("HOST_IP", raw, "expected an IPv4 or IPv6 address");
  return raw;
}

function podIdentity(env: Env): PodIdentity {
  // Every missing one in one message: a pod spec is fixed once, not once per variable.
  const missing = REQUIRED_WITH_PORTS.filter((n) => (env[n] ?? "") === "");
  if (missing.length > 0) {
    fail(
      EXIT.env,
      `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set (needed to report NEED_PORTS ports)`,
    );
  }
  return {
    servers: serverAddrs(env),
    cluster: named(env, "CLUSTER_NAME", CLUSTER, "letters, digits, '-', '_', '.'"),
    namespace: named(env, "MY_POD_NAMESPACE", LABEL, "a DNS-1123 label"),
    pod: named(env, "MY_POD_NAME", SUBDOMAIN, "a DNS-1123 subdomain"),
    container: named(env, "DOMEIZE_CONTAINER", LABEL, "a DNS-1123 label (container name)"),
    token: token(env),
    uid: podUid(env),
    hostIp: hostIp(env),
  };
}

function templates(env: Env): string[] {
  const raw = env.DOMEIZE_TEMPLATES ?? "";
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function networkMode(env: Env): string {
  const raw = env.NETWORK_MODE ?? "";
  if (raw === "" || /^(host|default)$/i.test(raw)) return raw.toUpperCase();
  return bad("NETWORK_MODE", raw, "expected HOST or DEFAULT");
}

function durationVar(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  let ms: number;
  try {
    ms = mustParseDuration(raw);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    return bad(name, raw, `${err.message} (expected a positive Go duration like 30s)`);
  }
  if (ms <= 0) return bad(name, raw, "expected a positive Go duration like 30s");
  return ms;
}

function stateDir(env: Env): string {
  const raw = env.DOMEIZE_STATE_DIR ?? "";
  if (raw === "") return `${env.TMPDIR || "/tmp"}/domeize`;
  if (!raw.startsWith("/") || raw.includes("\0")) {
    return bad("DOMEIZE_STATE_DIR", raw, "expected an absolute path");
  }
  return raw;
}

function ledger(env: Env): boolean {
  const raw = env.DOMEIZE_PORT_LEDGER ?? "";
  if (raw === "" || raw === "on") return true;
  if (raw === "off") return false;
  return bad("DOMEIZE_PORT_LEDGER", raw, "expected on or off");
}

export function readEnv(env: Env): EnvConfig {
  const { count: needPorts, names: portNames } = needPortsOf(env);
  const rangeStart = integer(env, "AVAILABLE_PORT_START", 20000, 1, 65535);
  const rangeEnd = integer(env, "AVAILABLE_PORT_END", 20999, 1, 65535);
  if (rangeStart > rangeEnd) {
    fail(
      EXIT.env,
      `empty port range: AVAILABLE_PORT_START=${rangeStart} is above AVAILABLE_PORT_END=${rangeEnd}`,
    );
  }
  return {
    needPorts,
    portNames,
    rangeStart,
    rangeEnd,
    pod: needPorts > 0 ? podIdentity(env) : undefined,
    templates: templates(env),
    networkMode: networkMode(env),
    stateDir: stateDir(env),
    reportDeadlineMs: durationVar(env, "DOMEIZE_REPORT_DEADLINE"),
    reportTimeoutMs: durationVar(env, "DOMEIZE_REPORT_TIMEOUT"),
    leaseTtlMs: durationVar(env, "DOMEIZE_LEASE_TTL") ?? 600_000,
    useLedger: ledger(env),
  };
}
