// The host-mode deployment model and its validation. Every problem names the
// field and the bad value; all problems are reported at once.
import { parseNeedPorts } from "../../auto-port/need-ports.js";
import { clusterNameProblem, isDnsLabel } from "../http/names.js";
import { type ProbeSpec, parseProbe } from "./probe-spec.js";

export type NetworkMode = "HOST" | "DEFAULT";
export type AccessType = "DIY" | "K8S_SERVICE";

export interface TemplateSpec {
  /** Template path inside the image. */
  src: string;
  /** Where the rendered file goes. */
  dest: string;
}

export interface Deployment {
  name: string;
  namespace: string;
  cluster: string;
  /** Container image (Kubernetes runtime). */
  image?: string;
  /** Command and arguments (standalone runtime; on Kubernetes it overrides the image's entrypoint). */
  command?: string[];
  replicas: number;
  networkMode: NetworkMode;
  /** Number of AUTO_PORTn ports each pod needs (NEED_PORTS). */
  ports: number;
  /** Names of those ports in index order (NEED_PORTS=http,admin: AUTO_PORT_HTTP ...), when named. */
  portNames?: string[];
  templates: TemplateSpec[];
  accessType: AccessType;
  env: Record<string, string>;
  /** When a pod may get traffic (default: AUTO_PORT0 accepts TCP connections). */
  readinessProbe?: ProbeSpec;
  /** When a pod is restarted (default: only when its process exits). */
  livenessProbe?: ProbeSpec;
  /** How a change to what the pods run is rolled out (default surge 1, unavailable 0). */
  strategy?: RollingStrategy;
  /** A rollout that makes no progress for this long is marked Failed (default 120). */
  progressDeadlineSeconds?: number;
  /** How many revisions `deploy history` keeps (default 10). */
  revisionHistoryLimit?: number;
  /** The revision the pods should run (set by the server: 1 at create, +1 per change to the pod template). */
  revision?: number;
  createdAt?: string;
  updatedAt?: string;
}

/** Environment variables the server sets itself; user env may not override them. */
export const RESERVED_ENV = [
  "NETWORK_MODE",
  "NEED_PORTS",
  "DOMEOS_SERVER_ADDR",
  "CLUSTER_NAME",
  "MY_POD_NAME",
  "MY_POD_NAMESPACE",
  "DOMEIZE_TEMPLATES",
  "DOMEOS_AGENT_TOKEN",
  // the pod's identity and state dir on Kubernetes (manifest.ts)
  "MY_POD_UID",
  "NODE_NAME",
  "HOST_IP",
  "DOMEIZE_STATE_DIR",
];

/** Kubernetes' RollingUpdate: pods above `replicas` and Ready pods below it allowed during a rollout. */
export interface RollingStrategy {
  maxSurge: number;
  maxUnavailable: number;
}

export const DEFAULT_STRATEGY: RollingStrategy = { maxSurge: 1, maxUnavailable: 0 };
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 120;
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

export const MAX_REPLICAS = 1000;
export const MAX_PORTS = 100;

export class DeploymentError extends Error {
  override name = "DeploymentError";
  constructor(readonly problems: string[]) {
    super(`invalid deployment: ${problems.join("; ")}`);
  }
}

const FIELDS = new Set([
  "name",
  "namespace",
  "cluster",
  "image",
  "command",
  "replicas",
  "networkMode",
  "ports",
  "portNames",
  "templates",
  "accessType",
  "env",
  "readinessProbe",
  "livenessProbe",
  "strategy",
  "progressDeadlineSeconds",
  "revisionHistoryLimit",
  "revision",
  "createdAt",
  "updatedAt",
]);

/** Validate user input into a Deployment (defaults: namespace/cluster "default", 1 replica, HOST, DIY). */
export function parseDeployment(input: unknown): Deployment {
  const p: string[] = [];
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new DeploymentError(["the deployment must be a JSON object"]);
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) p.push(`unknown field ${JSON.stringify(k)}`);
  const d: Deployment = {
    name: label(o, "name", undefined, p),
    namespace: label(o, "namespace", "default", p),
    cluster: clusterName(o.cluster ?? "default", p),
    replicas: int(o, "replicas", 1, 0, MAX_REPLICAS, p),
    networkMode: oneOf(o, "networkMode", ["HOST", "DEFAULT"] as const, "HOST", p),
    ports: int(o, "ports", Array.isArray(o.portNames) ? o.portNames.length : 0, 0, MAX_PORTS, p),
    templates: templates(o.templates, p),
    accessType: oneOf(o, "accessType", ["DIY", "K8S_SERVICE"] as const, "DIY", p),
    env: env(o.env, p),
  };
  if (o.portNames !== undefined) {
    const names = portNames(o.portNames, d.ports, p);
    if (names) d.portNames = names;
  }
  if (o.image !== undefined) d.image = image(o.image, p);
  if (o.command !== undefined) d.command = command(o.command, p);
  if (d.image === undefined && d.command === undefined)
    p.push("give an image (Kubernetes) or a command (standalone)");
  for (const kind of ["readinessProbe", "livenessProbe"] as const) {
    const probe = parseProbe(o[kind], kind, d.ports, p);
    if (probe) d[kind] = probe;
  }
  rolloutFields(o, d, p);
  if (d.networkMode !== "HOST" && d.ports > 0) {
    p.push(
      `ports=${d.ports} needs networkMode HOST (in DEFAULT mode the pod has its own network and needs no host ports)`,
    );
  }
  for (const k of ["createdAt", "updatedAt"] as const)
    if (typeof o[k] === "string") d[k] = o[k] as string;
  if (p.length > 0) throw new DeploymentError(p);
  return d;
}

/** strategy, progressDeadlineSeconds, revisionHistoryLimit (and the stored revision). */
function rolloutFields(o: Record<string, unknown>, d: Deployment, p: string[]): void {
  if (o.strategy !== undefined) {
    const s = strategy(o.strategy, p);
    if (s) d.strategy = s;
  }
  if (o.progressDeadlineSeconds !== undefined)
    d.progressDeadlineSeconds = int(o, "progressDeadlineSeconds", 0, 1, 86_400, p);
  if (o.revisionHistoryLimit !== undefined)
    d.revisionHistoryLimit = int(o, "revisionHistoryLimit", 0, 1, 100, p);
  if (o.revision !== undefined) d.revision = int(o, "revision", 1, 1, Number.MAX_SAFE_INTEGER, p);
}

/** {maxSurge, maxUnavailable}: pod counts, not both 0 (nothing could move). */
function strategy(v: unknown, p: string[]): RollingStrategy | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    p.push('strategy must be an object like {"maxSurge": 1, "maxUnavailable": 0}');
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const before = p.length;
  for (const k of Object.keys(o))
    if (k !== "maxSurge" && k !== "maxUnavailable")
      p.push(`strategy: unknown field ${JSON.stringify(k)} (maxSurge, maxUnavailable)`);
  const s: RollingStrategy = { ...DEFAULT_STRATEGY };
  for (const f of ["maxSurge", "maxUnavailable"] as const) {
    const n = o[f];
    if (n === undefined) continue;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_REPLICAS)
      p.push(
        `strategy.${f} ${JSON.stringify(n)} must be a number of pods from 0 to ${MAX_REPLICAS}`,
      );
    else s[f] = n;
  }
  if (p.length === before && s.maxSurge === 0 && s.maxUnavailable === 0)
    p.push("strategy: maxSurge and maxUnavailable cannot both be 0 (no pod could be replaced)");
  return p.length === before ? s : undefined;
}

/** portNames: one distinct port name per port (Kubernetes' port-name rules). */
function portNames(v: unknown, ports: number, p: string[]): string[] | undefined {
  if (!Array.isArray(v) || !v.every((n) => typeof n === "string")) {
    p.push('portNames must be an array of port names, e.g. ["http", "admin"]');
    return undefined;
  }
  try {
    parseNeedPorts(v.join(","));
  } catch (err) {
    p.push(`portNames: ${(err as Error).message}`);
    return undefined;
  }
  if (v.length !== ports) {
    p.push(`portNames names ${v.length} ports but ports is ${ports}: give one name per port`);
    return undefined;
  }
  return v as string[];
}

/** NEED_PORTS for the pods: the names when the ports are named, else the count. */
export function needPortsEnv(d: { ports: number; portNames?: string[] }): string {
  return d.portNames && d.portNames.length > 0 ? d.portNames.join(",") : String(d.ports);
}

/** Any name the operator gave a cluster (see clusterNameProblem). */
function clusterName(v: unknown, p: string[]): string {
  const problem = typeof v === "string" ? clusterNameProblem(v) : "must be a string";
  if (problem === undefined) return v as string;
  p.push(`cluster ${JSON.stringify(v)} ${problem}`);
  return "";
}

function label(
  o: Record<string, unknown>,
  f: string,
  dflt: string | undefined,
  p: string[],
): string {
  const v = o[f] ?? dflt;
  if (v === undefined) {
    p.push(`${f} is required`);
    return "";
  }
  if (typeof v !== "string" || !isDnsLabel(v)) {
    p.push(
      `${f} ${JSON.stringify(v)} is not a DNS-1123 label (lower-case letters, digits, '-', at most 63)`,
    );
    return "";
  }
  return v;
}

function int(
  o: Record<string, unknown>,
  f: string,
  dflt: number,
  min: number,
  max: number,
  p: string[],
): number {
  const v = o[f] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    p.push(`${f} ${JSON.stringify(v)} must be an integer from ${min} to ${max}`);
    return dflt;
  }
  return v;
}

function oneOf<T extends string>(
  o: Record<string, unknown>,
  f: string,
  allowed: readonly T[],
  dflt: T,
  p: string[],
): T {
  const v = o[f] ?? dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    p.push(`${f} ${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
    return dflt;
  }
  return v as T;
}

function image(v: unknown, p: string[]): string | undefined {
  if (typeof v !== "string" || v.length > 255 || !/^[a-z0-9][A-Za-z0-9._\-/:@]*$/.test(v)) {
    p.push(`image ${JSON.stringify(v)} is not a valid image reference`);
    return undefined;
  }
  return v;
}

function command(v: unknown, p: string[]): string[] | undefined {
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every((s) => typeof s === "string") ||
    v[0] === ""
  ) {
    p.push("command must be a non-empty array of strings, program first");
    return undefined;
  }
  // an argv element cannot carry a NUL byte: exec would fail on every restart
  const nul = v.findIndex((s) => s.includes("\0"));
  if (nul >= 0) {
    p.push(`command[${nul}] contains a NUL byte, which no program argument can hold`);
    return undefined;
  }
  return v as string[];
}

/** Templates as ["src:dest", ...] or [{src, dest}, ...]. */
function templates(v: unknown, p: string[]): TemplateSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.push('templates must be an array of "src:dest" strings');
    return [];
  }
  const out: TemplateSpec[] = [];
  v.forEach((t, i) => {
    let spec: TemplateSpec | null = null;
    if (typeof t === "string") {
      const parts = t.split(":");
      if (parts.length === 2) spec = { src: parts[0]!, dest: parts[1]! };
    } else if (
      t &&
      typeof t === "object" &&
      typeof t.src === "string" &&
      typeof t.dest === "string"
    ) {
      spec = { src: t.src, dest: t.dest };
    }
    const bad = (s: string) => s === "" || /[:,\s\0]/.test(s) || s.length > 1024;
    if (!spec || bad(spec.src) || bad(spec.dest)) {
      p.push(
        `templates[${i}] ${JSON.stringify(t)} must be "src:dest" with two non-empty paths without ':', ',' or spaces`,
      );
      return;
    }
    out.push(spec);
  });
  return out;
}

function env(v: unknown, p: string[]): Record<string, string> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    p.push("env must be an object of NAME: value strings");
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      p.push(`env name ${JSON.stringify(k)} is not a valid variable name`);
    else if (RESERVED_ENV.includes(k) || /^AUTO_PORT/.test(k))
      p.push(`env ${k} is set by the server and cannot be overridden`);
    else if (typeof val !== "string")
      p.push(`env ${k} must be a string, got ${JSON.stringify(val)}`);
    else if (val.includes("\0"))
      p.push(`env ${k} contains a NUL byte, which no environment variable can hold`);
    else out[k] = val;
  }
  return out;
}

/** The DOMEIZE_TEMPLATES value: "src:dest,src:dest". */
export function templatesEnv(d: Deployment): string {
  return d.templates.map((t) => `${t.src}:${t.dest}`).join(",");
}
