// Store layout of the port ledger (documented in docs/ports-ledger.md).
//
//   /domeos/ports/{host}/{port}                          one record per taken port on a host
//   /domeos/port-assignments/{ns}/{pod}/{container}      which ports a pod's container holds
//   /domeos/port-quotas/{ns}/{pod}                       how many each container may hold (the quota's grants)
//
// The ledger record is what makes a port taken: it is created with a
// create-if-absent transaction, so two server replicas can never hand out
// the same port. The assignment is the pod-side index (idempotency, sticky
// restarts, freeing) and is itself written with compare-and-swap. The grant
// record is the pod's quota: a container grows only through a
// compare-and-swap on it, so server processes serving one pod at once never
// grant it more than its quota together.

export const LEDGER_PREFIX = "/domeos/ports/";
export const ASSIGNMENT_PREFIX = "/domeos/port-assignments/";
export const QUOTA_PREFIX = "/domeos/port-quotas/";
/** Container name used in keys when the request names none (labels never start with "_"). */
export const DEFAULT_CONTAINER = "_";

export const hostPrefix = (host: string) => `${LEDGER_PREFIX}${host}/`;
export const ledgerKey = (host: string, port: number) => `${LEDGER_PREFIX}${host}/${port}`;
export const podAssignmentPrefix = (ns: string, pod: string) => `${ASSIGNMENT_PREFIX}${ns}/${pod}/`;
export const assignmentKey = (ns: string, pod: string, container: string) =>
  `${ASSIGNMENT_PREFIX}${ns}/${pod}/${container || DEFAULT_CONTAINER}`;
export const quotaKey = (ns: string, pod: string) => `${QUOTA_PREFIX}${ns}/${pod}`;

/** A pod's quota grants: container key name ("_" = the main one) -> ports it may hold. */
export interface QuotaGrants {
  grants: Record<string, number>;
  updatedAt: string;
}

export function parseGrants(value: string): QuotaGrants | null {
  try {
    const g = JSON.parse(value) as QuotaGrants;
    if (typeof g !== "object" || g === null || typeof g.grants !== "object" || g.grants === null)
      return null;
    for (const n of Object.values(g.grants)) if (!Number.isInteger(n) || n < 0) return null;
    return g;
  } catch {
    return null;
  }
}

/** A port held by a pod's container. */
export interface PodPortRecord {
  kind: "pod";
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  allocatedAt: string;
}

/** A port an agent's bind probe found in use by something outside the ledger. */
export interface ExternalPortRecord {
  kind: "external";
  reportedBy: string;
  /** ISO time after which the sweep frees the record. */
  until: string;
}

export type PortRecord = PodPortRecord | ExternalPortRecord;

export interface Assignment {
  cluster: string;
  host: string;
  /** ports[i] is AUTO_PORT{i}. */
  ports: number[];
  /** metadata.uid of the pod when the ports were assigned (informational). */
  podUid?: string;
  allocatedAt: string;
}

export function parseRecord(value: string): PortRecord | null {
  try {
    const r = JSON.parse(value) as PortRecord;
    return r && (r.kind === "pod" || r.kind === "external") ? r : null;
  } catch {
    return null;
  }
}

export function parseAssignment(value: string): Assignment | null {
  try {
    const a = JSON.parse(value) as Assignment;
    return a && typeof a.host === "string" && Array.isArray(a.ports) ? a : null;
  } catch {
    return null;
  }
}

/** Port number of a ledger key, or NaN. */
export function portOfKey(key: string): number {
  return Number(key.slice(key.lastIndexOf("/") + 1));
}

/** Host of a ledger key. */
export function hostOfKey(key: string): string {
  return key.slice(LEDGER_PREFIX.length, key.lastIndexOf("/"));
}
