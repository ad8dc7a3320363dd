// The seam between deployments (what should run) and a runtime (what makes
// it run): Kubernetes, or local processes (standalone). The server calls
// ensure() after every create/scale and remove() after delete.
import type { PortRange } from "../agent/annotation-policy.js";
import type { ChangeRecord } from "./manifest-rollout.js";
import type { Deployment } from "./model.js";
import type { SelfRollingRuntime } from "./rollout-types.js";

export interface DeployContext {
  /** DOMEOS_SERVER_ADDR for the pods. */
  serverAddr: string;
  /** The per-pod credential, bound to the pod's UID (standalone runtimes know both in advance). */
  podToken(podName: string, uid: string): string;
  /** The per-deployment credential (runtimes that name pods later, like Kubernetes). */
  deploymentToken: string;
  /** The server's port range: pods' domeize must accept the ledger's ports. */
  portRange?: PortRange;
  /** Kubernetes: the domeize injection image (manifest.ts); "" = none. */
  domeizeImage?: string;
  /**
   * Why and by whom this ensure() changes what the pods run ("update: env",
   * "rollback to 2"): self-rolling runtimes record it with the revision.
   * Leave it out for scale-only changes (they make no revision).
   */
  change?: ChangeRecord;
}

export interface PodRuntime {
  /** Human-readable name for logs ("none", "kubernetes", "process"). */
  readonly name: string;
  /**
   * Make `deployment.replicas` pods of the deployment run (create, scale up
   * or down). `ctx` carries the server address and credentials for runtimes
   * that do not mint them themselves.
   */
  ensure(deployment: Deployment, ctx?: DeployContext): Promise<void>;
  /** Stop and remove all pods of the deployment (`deployment`: the one just deleted). */
  remove(namespace: string, name: string, deployment?: Deployment): Promise<void>;
  /**
   * Problems this runtime has with a deployment about to be created (the raw
   * request body, cluster filled in), each naming the field. Reported with
   * the model's own problems; nothing is stored when there are any.
   */
  validate?(input: Record<string, unknown>): string[];
  /**
   * Bring back a stored deployment when the server starts (runtimes whose
   * pods live and die with the server, like local processes).
   */
  resume?(deployment: Deployment, ctx: DeployContext): Promise<void>;
  /**
   * Where a pod's stdout and stderr are kept, for runtimes that run pods here
   * (also a recently deleted pod of `deployment`, for a while).
   */
  logPaths?(
    namespace: string,
    pod: string,
    deployment: string,
  ): { stdout: string; stderr: string } | undefined;
  /** Stop what runs here when the server closes (pods stay in the store). */
  stop?(): Promise<void>;
  /**
   * The server's rollout controller replaces this runtime's pods one by one
   * (the process runtime): a rollout is Progressing until it reports.
   */
  readonly rollsPods?: boolean;
  /** Whether this runtime runs the deployment (default: every one). */
  owns?(d: Deployment): boolean;
}

/** A runtime that rolls by itself (Kubernetes): status and history are read from it. */
export function isSelfRolling(r: PodRuntime): r is PodRuntime & SelfRollingRuntime {
  return (r as Partial<SelfRollingRuntime>).rollsItself === true;
}

/** Will pods of `d` be replaced and reported on (rather than only stored)? */
export function rollsHere(r: PodRuntime, d: Deployment): boolean {
  return r.rollsPods === true && (r.owns?.(d) ?? true);
}

/** The default: deployments are stored and rendered as manifests; nothing runs here. */
export const recordOnlyRuntime: PodRuntime = {
  name: "none",
  ensure: async () => {},
  remove: async () => {},
};
