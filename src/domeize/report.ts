// The DomeOS report: PUT the ports as pod annotations, exactly the request
// the original sent, but with a per-request timeout and retries (exponential
// backoff with jitter) on connection errors, timeouts and 5xx until a
// deadline. 4xx is final. The PUT is idempotent, so retrying is safe.

import { namedPortKey } from "../auto-port/need-ports.js";
import { Backoff } from "../retry/backoff.js";
import type { PodIdentity } from "./env.js";
import { EXIT, fail } from "./exit.js";
import { type HttpResponse, HttpTransportError, httpRequest } from "./http.js";
import { log } from "./log.js";

export interface ReportTiming {
  readonly deadlineMs: number;
  readonly requestTimeoutMs: number;
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** Annotation keys: plain AUTO_PORTn for the primary container, AUTO_PORTn_NAME otherwise. */
export function annotationKey(index: number, container: string): string {
  return container === "" ? `AUTO_PORT${index}` : `AUTO_PORT${index}_${container}`;
}

export function podUrl(server: string, pod: PodIdentity, leaf: string): string {
  const seg = encodeURIComponent;
  return `${server}/api/agent/pod/${seg(pod.cluster)}/${seg(pod.namespace)}/${seg(pod.pod)}/${leaf}`;
}

/** JSON of a map[string]string as Go marshals it: keys sorted, compact. */
export function reportBody(
  ports: readonly number[],
  container: string,
  names: readonly string[] = [],
): string {
  const entries = ports.map((p, i) => [annotationKey(i, container), String(p)] as const);
  names.forEach((n, i) => {
    entries.push([namedPortKey(n, container), String(ports[i])] as const);
  });
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(Object.fromEntries(entries));
}

export function agentHeaders(pod: PodIdentity): Record<string, string> {
  const h: Record<string, string> = { "Content-Type": "application/json" };
  if (pod.token !== undefined) h.Authorization = `Bearer ${pod.token}`;
  return h;
}

/** Go's json.Unmarshal matches field names case-insensitively. */
export function resultCode(body: string): { code: number | undefined; msg: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  let code: number | undefined;
  let msg = "";
  for (const [k, val] of Object.entries(v)) {
    const lk = k.toLowerCase();
    if (lk === "resultcode" && typeof val === "number" && Number.isInteger(val)) code = val;
    if (lk === "resultmsg" && typeof val === "string") msg = val;
  }
  return { code, msg };
}

type Outcome = { ok: true } | { ok: false; retry: boolean; error: string };

function judge(res: HttpResponse): Outcome {
  const body = res.body.length > 200 ? `${res.body.slice(0, 200)}...` : res.body;
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    return { ok: false, retry: true, error: `HTTP ${res.status}: ${body}` };
  }
  if (res.status !== 200) return { ok: false, retry: false, error: `HTTP ${res.status}: ${body}` };
  const rc = resultCode(res.body);
  if (rc === undefined)
    return { ok: false, retry: false, error: `answer is not a JSON object: ${body}` };
  if (rc.code === 200) return { ok: true };
  const code = rc.code ?? 0;
  return { ok: false, retry: code >= 500, error: `resultCode ${code}: ${rc.msg}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PUTs the annotation. With several servers (DOMEOS_SERVER_ADDR=a,b), a
 * retryable failure moves on to the next at once; the backoff pause comes
 * after every server of the list failed once in a row (they share one
 * store, so any of them can take the report).
 */
export async function reportPorts(
  pod: PodIdentity,
  ports: readonly number[],
  names: readonly string[],
  timing: ReportTiming,
): Promise<void> {
  const body = reportBody(ports, pod.container, names);
  const start = Date.now();
  const deadline = start + timing.deadlineMs;
  const backoff = new Backoff({
    initialMs: timing.firstBackoffMs ?? 250,
    maxMs: timing.maxBackoffMs ?? 5000,
    jitter: 0.5,
  });
  let last = "";
  let current = 0;
  let failedInRow = 0;
  for (let attempt = 1; ; attempt++) {
    const url = podUrl(pod.servers[current], pod, "annotation");
    const left = deadline - Date.now();
    let outcome: Outcome;
    try {
      const res = await httpRequest({
        method: "PUT",
        url,
        headers: agentHeaders(pod),
        body,
        timeoutMs: Math.max(1, Math.min(timing.requestTimeoutMs, left)),
      });
      outcome = judge(res);
    } catch (err) {
      if (!(err instanceof HttpTransportError)) throw err;
      outcome = { ok: false, retry: true, error: err.message };
    }
    if (outcome.ok) return;
    last = pod.servers.length > 1 ? `${pod.servers[current]}: ${outcome.error}` : outcome.error;
    const elapsed = ((Date.now() - start) / 1000).toFixed(1);
    if (!outcome.retry || Date.now() >= deadline) {
      const why = outcome.retry
        ? `gave up after ${attempt} attempts in ${elapsed}s`
        : "not retried";
      fail(EXIT.report, `cannot report ports to ${url}: ${outcome.error} (${why})`);
    }
    current = (current + 1) % pod.servers.length;
    failedInRow++;
    if (failedInRow < pod.servers.length) {
      log(`report attempt ${attempt} failed: ${last}; trying ${pod.servers[current]}`);
      continue;
    }
    failedInRow = 0;
    const pause = backoff.next();
    if (Date.now() + pause >= deadline) {
      fail(
        EXIT.report,
        `cannot report ports to ${url}: ${outcome.error} (gave up after ${attempt} attempts in ${elapsed}s)`,
      );
    }
    log(`report attempt ${attempt} failed: ${last}; retrying in ${Math.round(pause)}ms`);
    await sleep(pause);
  }
}
