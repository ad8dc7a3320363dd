// The rollout contract shared by the server's own rollout controller (runtimes
// whose pods the server replaces one by one: the process runtime) and runtimes
// that roll themselves (Kubernetes: the Deployment controller rolls, status and
// history are read from the Deployment and its ReplicaSets).
import type { Deployment } from "./model.js";

/** What a revision ran: the deployment without its scale and timestamps. */
export type DeploymentSpec = Omit<Deployment, "replicas" | "createdAt" | "updatedAt">;

/** One entry of a deployment's revision history (`deploy history NAME`). */
export interface RevisionRecord {
  /** 1, 2, 3...: rises with every change to what the pods run. */
  revision: number;
  spec: DeploymentSpec;
  /** ISO time the revision was created. */
  createdAt: string;
  /** Who asked for it, when known (the admin token's subject, "console", ...). */
  by?: string;
  /** Why: "create", "update: env, command", "rollback to 2". */
  cause?: string;
}

export type RolloutPhase = "Progressing" | "Complete" | "Failed";

/** Progress of the latest rollout (`deploy status NAME`). */
export interface RolloutStatus {
  /** The revision being rolled out (or complete). */
  revision: number;
  phase: RolloutPhase;
  /** Failed: why (e.g. "pod web-x7k2p exited with code 3 (3 times)", "not Ready within 120s: readiness probe ..."). */
  reason?: string;
  desired: number;
  /** Pods of the new revision (any state). */
  updated: number;
  /** Pods of the new revision that are Ready. */
  ready: number;
  /** Ready pods of any revision (what serves traffic now). */
  available: number;
  /** Pods of older revisions still present. */
  oldPods: number;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * Optional PodRuntime methods for runtimes that roll themselves. When
 * `rollsItself` is true the server does not replace pods itself: it stores
 * the new spec and calls `ensure()` with it (Kubernetes applies the manifest
 * and rolls), and reads progress and history from the runtime.
 */
export interface SelfRollingRuntime {
  readonly rollsItself: true;
  rolloutStatus(d: Deployment): Promise<RolloutStatus>;
  revisions(d: Deployment): Promise<RevisionRecord[]>;
}
