// What a person wants to know about one stored pod, read the way kubectl
// reads a Pod: readiness from status.conditions (or the container's ready
// flag when an older writer set no conditions), the container's state and
// why it is in it, the last exit, restarts, ports and age. Shared by the
// console and the admin API (`deploy status`, `deploy events`).

export interface PodSummary {
  namespace: string;
  name: string;
  deployName: string;
  host: string;
  podIP: string | null;
  phase: string;
  ready: boolean;
  /** Why not Ready (the condition's reason and message), "" when Ready. */
  readyReason: string;
  /** Being deleted (metadata.deletionTimestamp is set). */
  terminating: boolean;
  restarts: number;
  /** running | waiting | terminated | "" */
  state: string;
  /** The state's reason (CrashLoopBackOff, ContainerCreating, Error ...). */
  reason: string;
  message: string;
  /** The last exit: code, signal, reason and when, if the container ever exited. */
  lastExit: { exitCode: number; signal?: number; reason: string; finishedAt: string } | null;
  /** AUTO_PORTn and AUTO_PORT_NAME annotations. */
  ports: Record<string, string>;
  createdAt: string;
  /** The deployment revision the pod runs (its podRevision label), when known. */
  revision: string;
}

const PORT_ANNOTATION = /^AUTO_PORT(\d+|_[A-Z0-9_]+)$/;

// biome-ignore lint/suspicious/noExplicitAny: a stored pod is untyped JSON
export function podSummary(p: any): PodSummary {
  const meta = p?.metadata ?? {};
  const status = p?.status ?? {};
  const ann: Record<string, string> = meta.annotations ?? {};
  const cs = status.containerStatuses?.[0] ?? {};
  const [state, detail] = Object.entries(cs.state ?? {})[0] ?? ["", {}];
  const d = (detail ?? {}) as { reason?: string; message?: string };
  const last = cs.lastState?.terminated ?? cs.state?.terminated;
  return {
    namespace: String(meta.namespace ?? ""),
    name: String(meta.name ?? ""),
    deployName: String(ann.deployName ?? meta.labels?.deployName ?? ""),
    host: String(status.hostIP ?? ""),
    podIP: status.podIP ?? null,
    phase: String(status.phase ?? "Unknown"),
    ready: podReady(p),
    readyReason: notReadyReason(p),
    terminating: typeof meta.deletionTimestamp === "string",
    restarts: Number(cs.restartCount ?? 0),
    state,
    reason: String(d.reason ?? ""),
    message: String(d.message ?? ""),
    lastExit: last
      ? {
          exitCode: Number(last.exitCode),
          ...(last.signal !== undefined ? { signal: Number(last.signal) } : {}),
          reason: String(last.reason ?? ""),
          finishedAt: String(last.finishedAt ?? ""),
        }
      : null,
    ports: Object.fromEntries(Object.entries(ann).filter(([k]) => PORT_ANNOTATION.test(k))),
    createdAt: String(meta.creationTimestamp ?? ""),
    revision: String(meta.labels?.podRevision ?? ann.podRevision ?? ""),
  };
}

/**
 * Ready as Kubernetes means it: the Ready condition is True and the pod is not
 * being deleted. Pods written before conditions existed fall back to the
 * container's ready flag.
 */
// biome-ignore lint/suspicious/noExplicitAny: a stored pod is untyped JSON
export function podReady(p: any): boolean {
  if (typeof p?.metadata?.deletionTimestamp === "string") return false;
  const conditions = p?.status?.conditions;
  if (Array.isArray(conditions)) {
    const ready = conditions.find((c: { type?: string }) => c?.type === "Ready");
    if (ready) return ready.status === "True";
  }
  return p?.status?.containerStatuses?.[0]?.ready === true;
}

/** The Ready condition's reason and message when the pod is not Ready ("" when it is). */
// biome-ignore lint/suspicious/noExplicitAny: a stored pod is untyped JSON
function notReadyReason(p: any): string {
  if (podReady(p)) return "";
  const c = (p?.status?.conditions ?? []).find((x: { type?: string }) => x?.type === "Ready");
  const why = [c?.reason, c?.message].filter((x) => typeof x === "string" && x).join(": ");
  return why || (typeof p?.metadata?.deletionTimestamp === "string" ? "Terminating" : "not ready");
}
