// A pod's port quota, decided by one compare-and-swap on its grant record
// (/domeos/port-quotas/{ns}/{pod}: container -> ports it may hold). Every
// request that makes a container hold more (or other) ports first writes its
// container's grant there, conditional on the record being what the check
// read; so two server processes serving the same pod at once cannot both
// pass: the second write fails, is retried on the new record, and refused.
// Ledger records and the assignment are written only after the grant.
//
// What the other containers count: the larger of their grant and what their
// assignment holds (a grant is written before the ports are taken, lowered
// before the smaller assignment is written, and assignments from before
// grants existed have none).
import type { Store } from "../../store/store.js";
import { conflict, HttpError } from "../http/errors.js";
import {
  DEFAULT_CONTAINER,
  parseAssignment,
  parseGrants,
  podAssignmentPrefix,
  type QuotaGrants,
  quotaKey,
} from "./keys.js";

export interface QuotaRequest {
  namespace: string;
  pod: string;
  container: string;
  /** Most ports the pod may hold, all containers together. */
  quota: number;
}

/** Compare-and-swap attempts before answering 503 (each lost one means another write landed). */
const ATTEMPTS = 20;

/**
 * Grant `want` ports to the request's container, or 409 when the pod's other
 * containers plus `want` exceed its quota (nothing written then).
 */
export async function reserveQuota(store: Store, req: QuotaRequest, want: number): Promise<void> {
  const key = quotaKey(req.namespace, req.pod);
  const me = req.container || DEFAULT_CONTAINER;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const kv = await store.get(key);
    const grants = (kv ? parseGrants(kv.value)?.grants : undefined) ?? {};
    const others = await othersHold(store, req, grants, me);
    if (others + want > req.quota) {
      throw conflict(
        `pod ${req.namespace}/${req.pod} may hold at most ${req.quota} ports (its quota); ` +
          `it holds ${others} in other containers and asks for ${want}${req.container ? ` for container ${req.container}` : ""}`,
      );
    }
    // Already granted: every other container's check has counted it.
    if (grants[me] === want) return;
    const next: QuotaGrants = {
      grants: { ...grants, [me]: want },
      updatedAt: new Date().toISOString(),
    };
    const w = await store.put(key, JSON.stringify(next), {
      expectModRevision: kv ? kv.modRevision : 0,
    });
    if (w.ok) return;
  }
  throw new HttpError(503, `port quota of pod ${req.namespace}/${req.pod} kept changing; retry`, {
    "retry-after": "1",
  });
}

/** Ports the pod's other containers may hold: per container, its grant or its assignment, the larger. */
async function othersHold(
  store: Store,
  req: QuotaRequest,
  grants: Record<string, number>,
  me: string,
): Promise<number> {
  const prefix = podAssignmentPrefix(req.namespace, req.pod);
  const counts = new Map<string, number>(Object.entries(grants));
  for (const kv of (await store.list(prefix)).kvs) {
    const container = kv.key.slice(prefix.length);
    const n = parseAssignment(kv.value)?.ports.length ?? 0;
    counts.set(container, Math.max(counts.get(container) ?? 0, n));
  }
  let sum = 0;
  for (const [c, n] of counts) if (c !== me) sum += n;
  return sum;
}
