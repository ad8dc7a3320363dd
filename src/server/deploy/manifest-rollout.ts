// What a generated Deployment carries for rollouts on Kubernetes: the
// rolling-update strategy (one surge pod, none unavailable), the progress
// deadline, the domeos spec of the revision on the pod template (so every
// ReplicaSet the Deployment controller creates keeps the spec it runs and
// `deploy history` / `rollback` can recover it), and who changed it and why
// on the Deployment (the controller copies the Deployment's annotations to
// the new ReplicaSet, as `kubectl rollout history` shows CHANGE-CAUSE).
import type { IDeploymentStrategy } from "kubernetes-models/apps/v1";
import {
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  DEFAULT_REVISION_HISTORY_LIMIT,
  DEFAULT_STRATEGY,
  type Deployment,
} from "./model.js";
import { canonical, podTemplateOf } from "./pod-template.js";

/** Pod template annotation: the domeos DeploymentSpec of the revision (sorted-key JSON). */
export const SPEC_ANNOTATION = "domeos.io/spec";
/** Deployment (then ReplicaSet) annotation: why, as kubectl's --record wrote it. */
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";
/** Deployment (then ReplicaSet) annotations: who, and when the change was asked for. */
export const CHANGED_BY_ANNOTATION = "domeos.io/changed-by";
export const CHANGED_AT_ANNOTATION = "domeos.io/changed-at";
/** Set by the Deployment controller on the Deployment and its ReplicaSets. */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";

/** A change to record on the Deployment: why and by whom (DeployContext.change). */
export interface ChangeRecord {
  cause?: string;
  by?: string;
  /** ISO time; default: now. */
  at?: string;
}

/** The Deployment's strategy, progress deadline and history limit: the deployment's, or the model's defaults. */
export function rolloutSpec(d: Deployment): {
  strategy: IDeploymentStrategy;
  progressDeadlineSeconds: number;
  revisionHistoryLimit: number;
} {
  const { maxSurge, maxUnavailable } = d.strategy ?? DEFAULT_STRATEGY;
  return {
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } },
    progressDeadlineSeconds: d.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    revisionHistoryLimit: d.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT,
  };
}

/**
 * The spec as the template's annotation holds it: the deployment's identity
 * and its pod-template fields (pod-template.ts), keys sorted, so the same
 * pods always give the same template (a rollback to a revision then matches
 * its ReplicaSet, which the controller adopts instead of making a new one)
 * and a change of scale or rollout settings rolls nothing.
 */
export function encodeSpec(d: Deployment): string {
  return canonical({
    name: d.name,
    namespace: d.namespace,
    cluster: d.cluster,
    ...podTemplateOf(d),
  });
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
