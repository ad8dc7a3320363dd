// Waiting until the load balancers no longer route to a pod the runtime
// took out of routing (Ready False, deletionTimestamp) at store revision R,
// before it gets SIGTERM.
//
// Confirmation: each domeos-confd given in `confirmUrls` serves /healthz
// with `resources[].appliedRevision`, the store revision that resource's
// output reflects, counted only once its reload command has returned (a
// resource whose keys did not change is current up to the backend's
// revision). The pod is out once every resource of every confd reports
// appliedRevision >= R; then `settleMs` more, because a plain
// `nginx -s reload` returns before the new workers take over
// (examples/confd/nginx-reload-wait.sh returns only once they have). Without a confd to ask (none
// given, unreachable, or one that does not report appliedRevision), a fixed
// `delayMs` stands in. Never longer than `timeoutMs`.

export interface DrainOptions {
  /** domeos-confd /healthz URLs (its -metrics-addr) whose resources route to these pods. */
  confirmUrls?: string[];
  /** The fallback pause when nothing confirms (default 3 s). */
  delayMs?: number;
  /** After confirmation, before SIGTERM: nginx's reload is asynchronous (default 300 ms). */
  settleMs?: number;
  /** Longest wait for a confirmation (default 15 s); then the pod is stopped anyway, logged. */
  timeoutMs?: number;
}

export const DRAIN_DEFAULTS = { delayMs: 3000, settleMs: 300, timeoutMs: 15_000 } as const;

export type DrainOutcome = "confirmed" | "delay" | "timeout";

const POLL_MS = 25;

/** Resolves once the load balancers stopped routing at `revision` (or a bound passed). */
export async function waitUnrouted(revision: number, o: DrainOptions): Promise<DrainOutcome> {
  const delayMs = o.delayMs ?? DRAIN_DEFAULTS.delayMs;
  const urls = o.confirmUrls ?? [];
  if (urls.length === 0) {
    await pause(delayMs);
    return "delay";
  }
  const t0 = Date.now();
  const timeoutMs = o.timeoutMs ?? DRAIN_DEFAULTS.timeoutMs;
  for (;;) {
    const states = await Promise.all(urls.map((u) => applied(u, revision)));
    if (states.every((s) => s === "yes")) {
      await pause(o.settleMs ?? DRAIN_DEFAULTS.settleMs);
      return "confirmed";
    }
    if (states.includes("unknown")) {
      // a confd that cannot confirm: the fixed pause, counted from the start
      await pause(delayMs - (Date.now() - t0));
      return "delay";
    }
    if (Date.now() - t0 >= timeoutMs) return "timeout";
    await pause(POLL_MS);
  }
}

/** Has the confd behind `url` applied `revision` in every resource? */
async function applied(url: string, revision: number): Promise<"yes" | "no" | "unknown"> {
  let body: { resources?: { appliedRevision?: unknown }[] };
  try {
    // /healthz answers 503 while unhealthy, with the same body
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    body = (await res.json()) as typeof body;
  } catch {
    return "unknown";
  }
  const resources = Array.isArray(body.resources) ? body.resources : [];
  if (resources.length === 0) return "unknown";
  if (resources.some((r) => typeof r.appliedRevision !== "number")) return "unknown";
  return resources.every((r) => (r.appliedRevision as number) >= revision) ? "yes" : "no";
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
