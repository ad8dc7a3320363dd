// What a generated Deployment carries for rollouts on Kubernetes: the
// rolling-update strategy (one surge pod, none unavailable), the progress
// deadline, the domeos spec of the revision on the pod template (so every
// ReplicaSet the Deployment controller creates keeps the spec it runs and
// `deploy history` / `rollback` can recover it), and who changed it and why
// on the Deployment (the controller copies the Deployment's annotations to
// the new ReplicaSet, as `kubectl rollout history` shows CHANGE-CAUSE).
import type { IDeploymentStrategy } from "kubernetes-models/apps/v1";
import type { Deployment } from "./model.js";
import type { DeploymentSpec } from "./rollout-types.js";

/** Pod template annotation: the domeos DeploymentSpec of the revision (sorted-key JSON). */
export const SPEC_ANNOTATION = "domeos.io/spec";
/** Deployment (then ReplicaSet) annotation: why, as kubectl's --record wrote it. */
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";
/** Deployment (then ReplicaSet) annotations: who, and when the change was asked for. */
export const CHANGED_BY_ANNOTATION = "domeos.io/changed-by";
export const CHANGED_AT_ANNOTATION = "domeos.io/changed-at";
/** Set by the Deployment controller on the Deployment and its ReplicaSets. */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";

/** Kubernetes' own default progress deadline (DeploymentSpec.progressDeadlineSeconds). */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_MAX_SURGE = 1;
export const DEFAULT_MAX_UNAVAILABLE = 0;

/** A change to record on the Deployment: why and by whom (DeployContext.change). */
export interface ChangeRecord {
  cause?: string;
  by?: string;
  /** ISO time; default: now. */
  at?: string;
}

/** The rollout settings a deployment may carry (the rollout model's fields, when present). */
interface RolloutFields {
  strategy?: { maxSurge?: number; maxUnavailable?: number };
  progressDeadlineSeconds?: number;
  revisionHistoryLimit?: number;
}

/**
 * Deployment fields that are not part of what a revision runs: the scale,
 * the rollout settings and the server's bookkeeping. Left out of the
 * template's spec annotation, so changing them rolls no new ReplicaSet.
 */
const NOT_IN_REVISION = new Set([
  "replicas",
  "createdAt",
  "updatedAt",
  "revision",
  "strategy",
  "progressDeadlineSeconds",
  "revisionHistoryLimit",
]);

/** The Deployment's strategy and progress deadline: the deployment's when set, else surge 1, unavailable 0, 600 s. */
export function rolloutSpec(d: Deployment): {
  strategy: IDeploymentStrategy;
  progressDeadlineSeconds: number;
  revisionHistoryLimit?: number;
} {
  const f = d as Deployment & RolloutFields;
  const out: ReturnType<typeof rolloutSpec> = {
    strategy: {
      type: "RollingUpdate",
      rollingUpdate: {
        maxSurge: f.strategy?.maxSurge ?? DEFAULT_MAX_SURGE,
        maxUnavailable: f.strategy?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE,
      },
    },
    progressDeadlineSeconds: f.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
  };
  if (f.revisionHistoryLimit !== undefined) out.revisionHistoryLimit = f.revisionHistoryLimit;
  return out;
}

/** What a revision runs: the deployment without its scale, rollout settings and timestamps. */
export function specOf(d: Deployment): DeploymentSpec {
  return Object.fromEntries(
    Object.entries(d).filter(([k]) => !NOT_IN_REVISION.has(k)),
  ) as DeploymentSpec;
}

/**
 * The spec as the annotation holds it: keys sorted at every level, so the
 * same spec always gives the same pod template (a rollback to a revision then
 * matches its ReplicaSet, which the controller adopts instead of a new one).
 */
export function encodeSpec(d: Deployment): string {
  return JSON.stringify(sortKeys(specOf(d)));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.keys(v as Record<string, unknown>)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
}

/** The Deployment's change annotations (none without a change). */
export function changeAnnotations(change: ChangeRecord | undefined): Record<string, string> {
  if (!change) return {};
  const out: Record<string, string> = {
    [CHANGED_AT_ANNOTATION]: change.at ?? new Date().toISOString(),
  };
  if (change.cause) out[CHANGE_CAUSE_ANNOTATION] = change.cause;
  if (change.by) out[CHANGED_BY_ANNOTATION] = change.by;
  return out;
}
