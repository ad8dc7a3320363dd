// Readiness and liveness checks of a deployment, with Kubernetes' probe
// fields (periodSeconds, timeoutSeconds, failureThreshold, successThreshold,
// initialDelaySeconds) and two kinds of check: a TCP connect or an HTTP GET
// that must answer 2xx/3xx, on one of the pod's AUTO_PORTn ports (by index,
// 0, or by name, "AUTO_PORT0": host-mode ports are only known at start).
// Durations may be fractional seconds here (a standalone host can probe
// every 0.2 s); Kubernetes manifests round them up to whole seconds.

export type ProbePort = number | `AUTO_PORT${number}`;

export interface ProbeSpec {
  tcpSocket?: { port: ProbePort };
  httpGet?: { path: string; port: ProbePort };
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold: number;
  initialDelaySeconds: number;
}

export type ProbeKind = "readinessProbe" | "livenessProbe";

/** Kubernetes' defaults for fields a probe leaves out. */
export const PROBE_DEFAULTS = {
  periodSeconds: 10,
  timeoutSeconds: 1,
  failureThreshold: 3,
  successThreshold: 1,
  initialDelaySeconds: 0,
} as const;

/** What a deployment that declares no readiness check gets (as before probes existed). */
export function defaultReadiness(): ProbeSpec {
  return { tcpSocket: { port: 0 }, ...PROBE_DEFAULTS };
}

const MAX_SECONDS = 3600;
const MIN_PERIOD_SECONDS = 0.1;
const MAX_THRESHOLD = 100;
const MAX_PATH = 1024;

const DURATIONS = [
  ["periodSeconds", MIN_PERIOD_SECONDS],
  ["timeoutSeconds", MIN_PERIOD_SECONDS],
  ["initialDelaySeconds", 0],
] as const;
const THRESHOLDS = ["failureThreshold", "successThreshold"] as const;
const FIELDS = new Set<string>([
  "tcpSocket",
  "httpGet",
  ...DURATIONS.map(([f]) => f),
  ...THRESHOLDS,
]);

/**
 * Validate one probe of a deployment exposing `ports` ports. Problems are
 * appended to `p`, each naming the field (`readinessProbe.httpGet.path`) and
 * the bad value; returns the probe with defaults filled in, or undefined.
 */
export function parseProbe(
  v: unknown,
  kind: ProbeKind,
  ports: number,
  p: string[],
): ProbeSpec | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    p.push(`${kind} must be an object like {"httpGet":{"path":"/healthz","port":0}}`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const before = p.length;
  for (const k of Object.keys(o)) {
    if (k === "exec" || k === "grpc")
      p.push(`${kind}.${k} is not supported: use httpGet or tcpSocket`);
    else if (!FIELDS.has(k)) p.push(`${kind}: unknown field ${JSON.stringify(k)}`);
  }
  const spec: ProbeSpec = { ...PROBE_DEFAULTS };
  for (const [f, min] of DURATIONS) {
    if (o[f] !== undefined) spec[f] = seconds(o[f], `${kind}.${f}`, min, p);
  }
  for (const f of THRESHOLDS) {
    if (o[f] !== undefined) spec[f] = threshold(o[f], `${kind}.${f}`, p);
  }
  if (kind === "livenessProbe" && spec.successThreshold !== 1 && o.successThreshold !== undefined)
    p.push(`${kind}.successThreshold must be 1 (as in Kubernetes), got ${o.successThreshold}`);
  const handlers = ["httpGet", "tcpSocket"].filter((h) => o[h] !== undefined);
  if (handlers.length !== 1) {
    p.push(`${kind} needs exactly one of httpGet or tcpSocket`);
  } else if (o.httpGet !== undefined) {
    spec.httpGet = httpGet(o.httpGet, `${kind}.httpGet`, ports, p);
  } else {
    spec.tcpSocket = tcpSocket(o.tcpSocket, `${kind}.tcpSocket`, ports, p);
  }
  return p.length === before ? spec : undefined;
}

function seconds(v: unknown, f: string, min: number, p: string[]): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > MAX_SECONDS) {
    p.push(`${f} ${JSON.stringify(v)} must be a number of seconds from ${min} to ${MAX_SECONDS}`);
    return 0;
  }
  return v;
}

function threshold(v: unknown, f: string, p: string[]): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_THRESHOLD) {
    p.push(`${f} ${JSON.stringify(v)} must be an integer from 1 to ${MAX_THRESHOLD}`);
    return 1;
  }
  return v;
}

function httpGet(v: unknown, f: string, ports: number, p: string[]) {
  const o = object(v, f, '{"path":"/healthz","port":0}', p);
  if (!o) return undefined;
  extraFields(o, ["path", "port"], f, p);
  const path = o.path ?? "/";
  // printable ASCII without spaces: it goes into the request line as is
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    path.length > MAX_PATH ||
    !/^[\x21-\x7e]+$/.test(path)
  ) {
    p.push(
      `${f}.path ${JSON.stringify(path)} must be an absolute path ("/..."), printable ASCII without spaces, at most ${MAX_PATH} characters`,
    );
    return undefined;
  }
  const port = probePort(o.port, `${f}.port`, ports, p);
  return port === undefined ? undefined : { path, port };
}

function tcpSocket(v: unknown, f: string, ports: number, p: string[]) {
  const o = object(v, f, '{"port":0}', p);
  if (!o) return undefined;
  extraFields(o, ["port"], f, p);
  const port = probePort(o.port, `${f}.port`, ports, p);
  return port === undefined ? undefined : { port };
}

function object(v: unknown, f: string, example: string, p: string[]) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    p.push(`${f} must be an object like ${example}`);
    return undefined;
  }
  return v as Record<string, unknown>;
}

function extraFields(o: Record<string, unknown>, known: string[], f: string, p: string[]): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) p.push(`${f}: unknown field ${JSON.stringify(k)}`);
}

/** An AUTO_PORTn the deployment has: index 0..ports-1 or "AUTO_PORTn". */
function probePort(v: unknown, f: string, ports: number, p: string[]): ProbePort | undefined {
  const index = typeof v === "number" ? v : typeof v === "string" ? autoPortIndex(v) : Number.NaN;
  if (!Number.isInteger(index) || index < 0 || index >= ports) {
    const have =
      ports === 0
        ? "the deployment exposes no ports (ports: 0)"
        : `the deployment has AUTO_PORT0..AUTO_PORT${ports - 1}`;
    p.push(
      `${f} ${JSON.stringify(v)} must be a port index (0, 1, ...) or name ("AUTO_PORT0", ...); ${have}`,
    );
    return undefined;
  }
  return v as ProbePort;
}

function autoPortIndex(name: string): number {
  const m = /^AUTO_PORT(0|[1-9]\d{0,2})$/.exec(name);
  return m ? Number(m[1]) : Number.NaN;
}

/** The AUTO_PORTn index a probe checks. */
export function probePortIndex(port: ProbePort): number {
  return typeof port === "number" ? port : autoPortIndex(port);
}
