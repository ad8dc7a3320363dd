// Rollouts on Kubernetes as the Deployment controller reports them: the
// progress of the latest rollout from the Deployment's status (read as
// `kubectl rollout status` reads it), and the revision history from the
// ReplicaSets the Deployment owns (as `kubectl rollout history` lists them:
// the ReplicaSet's `deployment.kubernetes.io/revision`, its change-cause,
// and here the domeos spec its pod template carries).
import type { IDeployment, IDeploymentCondition, IReplicaSet } from "kubernetes-models/apps/v1";
import {
  CHANGE_CAUSE_ANNOTATION,
  CHANGED_AT_ANNOTATION,
  CHANGED_BY_ANNOTATION,
  REVISION_ANNOTATION,
  SPEC_ANNOTATION,
} from "./manifest-rollout.js";
import { parseDeployment } from "./model.js";
import { podSummary } from "./pod-summary.js";
import { specOf } from "./rollout-store.js";
import type { RevisionRecord, RolloutStatus } from "./rollout-types.js";

/** The Progressing condition's reasons the controller sets (deploymentutil). */
export const TIMED_OUT_REASON = "ProgressDeadlineExceeded";
export const NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable";

/** The revision an object carries in `deployment.kubernetes.io/revision` (0 when none). */
export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = obj.metadata?.annotations?.[REVISION_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** ReplicaSets whose controlling owner is this Deployment (by UID, as the controller adopts them). */
export function ownedReplicaSets(dep: IDeployment, sets: IReplicaSet[]): IReplicaSet[] {
  const uid = dep.metadata?.uid;
  if (!uid) return [];
  return sets.filter((rs) =>
    (rs.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.uid === uid),
  );
}

/**
 * The history: one record per owned ReplicaSet that carries a domeos spec,
 * oldest revision first. A ReplicaSet made outside domeos (kubectl edit) has
 * none and is left out: there is no domeos spec to roll back to.
 */
export function revisionsFrom(dep: IDeployment, sets: IReplicaSet[]): RevisionRecord[] {
  const out: RevisionRecord[] = [];
  for (const rs of ownedReplicaSets(dep, sets)) {
    const revision = revisionOf(rs);
    const spec = specFromTemplate(rs);
    if (revision === 0 || !spec) continue;
    const a = rs.metadata?.annotations ?? {};
    const rec: RevisionRecord = {
      revision,
      spec,
      createdAt: a[CHANGED_AT_ANNOTATION] ?? rs.metadata?.creationTimestamp ?? "",
    };
    if (a[CHANGED_BY_ANNOTATION]) rec.by = a[CHANGED_BY_ANNOTATION];
    if (a[CHANGE_CAUSE_ANNOTATION]) rec.cause = a[CHANGE_CAUSE_ANNOTATION];
    out.push(rec);
  }
  return out.sort((x, y) => x.revision - y.revision);
}

/** The domeos spec on a ReplicaSet's pod template, validated as the model does (undefined if none or bad). */
function specFromTemplate(rs: IReplicaSet) {
  const text = rs.spec?.template?.metadata?.annotations?.[SPEC_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    return specOf(parseDeployment(JSON.parse(text)));
  } catch {
    return undefined;
  }
}

/**
 * The latest rollout's progress, by kubectl's reading of a Deployment
 * (rollout_status.go): until the controller has observed the latest
 * generation the rollout is Progressing; a Progressing condition with reason
 * ProgressDeadlineExceeded is Failed (its message is the reason); Complete
 * when every desired replica is updated, no old one is left and every
 * updated one is available. `newRs`: the ReplicaSet of the latest revision,
 * for the count of its Ready pods; `podProblems`: why its pods are not Ready
 * (podProblem()), added to the reason of a rollout that is not complete.
 */
export function statusFrom(
  dep: IDeployment,
  newRs: IReplicaSet | undefined,
  podProblems: string[] = [],
): RolloutStatus {
  const status = controllerStatus(dep, newRs);
  if (status.phase !== "Complete" && podProblems.length > 0)
    status.reason = [status.reason, ...podProblems].filter(Boolean).join("; ");
  return status;
}

function controllerStatus(dep: IDeployment, newRs: IReplicaSet | undefined): RolloutStatus {
  const st = dep.status ?? {};
  const desired = dep.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const progressing = condition(dep, "Progressing");
  const status: RolloutStatus = {
    revision: revisionOf(dep),
    phase: "Progressing",
    desired,
    updated,
    ready: newRs ? (newRs.status?.readyReplicas ?? 0) : Math.min(updated, st.readyReplicas ?? 0),
    available,
    oldPods: Math.max(0, total - updated),
  };
  const started =
    newRs?.metadata?.annotations?.[CHANGED_AT_ANNOTATION] ?? newRs?.metadata?.creationTimestamp;
  if (started) status.startedAt = started;
  const observed = (dep.metadata?.generation ?? 0) <= (st.observedGeneration ?? 0);
  if (!observed) {
    status.reason = "waiting for the deployment controller to observe the new spec";
    return status;
  }
  if (progressing?.reason === TIMED_OUT_REASON) {
    status.phase = "Failed";
    status.reason = progressing.message ?? `deployment exceeded its progress deadline`;
    return status;
  }
  const waiting = waitingFor(updated, desired, total, available);
  if (waiting) {
    status.reason = waiting;
    return status;
  }
  status.phase = "Complete";
  const done = progressing?.reason === NEW_RS_AVAILABLE_REASON ? progressing : undefined;
  const at = done?.lastUpdateTime ?? done?.lastTransitionTime;
  if (at) status.finishedAt = String(at);
  return status;
}

/** What an observed rollout still waits for, in kubectl's words (undefined: nothing). */
function waitingFor(
  updated: number,
  desired: number,
  total: number,
  available: number,
): string | undefined {
  if (updated < desired) return `${updated} out of ${desired} new replicas have been updated`;
  if (total > updated) return `${total - updated} old replicas are pending termination`;
  if (available < updated) return `${available} of ${updated} updated replicas are available`;
  return undefined;
}

function condition(dep: IDeployment, type: string): IDeploymentCondition | undefined {
  return dep.status?.conditions?.find((c) => c.type === type);
}

/**
 * Why a pod of the new revision is not Ready, as the kubelet reports it
 * ("pod web-5d9f-x2k: CrashLoopBackOff (exit code 3, 4 restarts)"); undefined
 * when it is Ready. Probe failures are events, not pod status: a pod that runs
 * but fails its readiness probe says only "not Ready".
 */
// biome-ignore lint/suspicious/noExplicitAny: a pod object read as JSON
export function podProblem(pod: any): string | undefined {
  const s = podSummary(pod);
  if (s.ready || s.terminating) return undefined;
  const details: string[] = [];
  if (s.lastExit)
    details.push(
      s.lastExit.signal !== undefined
        ? `killed by signal ${s.lastExit.signal}`
        : `exit code ${s.lastExit.exitCode}`,
    );
  if (s.restarts > 0) details.push(`${s.restarts} restart${s.restarts === 1 ? "" : "s"}`);
  const what =
    (s.state === "waiting" || s.state === "terminated") && s.reason
      ? s.reason
      : `not Ready${s.readyReason && s.readyReason !== "not ready" ? ` (${s.readyReason})` : ""}`;
  const more = details.length > 0 ? ` (${details.join(", ")})` : "";
  return `pod ${s.name}: ${what}${more}${s.message && s.state === "waiting" ? `: ${s.message}` : ""}`;
}

/** The ReplicaSet of the Deployment's current revision, if the controller has made it. */
export function latestReplicaSet(dep: IDeployment, sets: IReplicaSet[]): IReplicaSet | undefined {
  const rev = revisionOf(dep);
  return ownedReplicaSets(dep, sets).find((rs) => rev > 0 && revisionOf(rs) === rev);
}
