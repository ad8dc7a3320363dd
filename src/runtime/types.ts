// What the standalone runtime needs to know about a host-mode deployment.
// The server's deployment model is adapted to this shape (see
// server-adapter.ts) so the supervisor does not depend on the admin API's
// evolving fields.
import type { ProbeSpec } from "../server/deploy/probe-spec.js";

export type NetworkMode = "HOST" | "DEFAULT";

export interface RuntimeDeployment {
  name: string;
  namespace: string;
  replicas: number;
  /** argv (run directly) or a shell command line (run through /bin/sh -c). */
  command: string[] | string;
  networkMode: NetworkMode;
  /** Number of exposed ports (NEED_PORTS); 0 means none. */
  ports: number;
  /** Their names (NEED_PORTS=http,admin), when named. */
  portNames?: string[];
  /** `src:dest` pairs for DOMEIZE_TEMPLATES (dest relative to the pod's working dir). */
  templates: string[];
  accessType: "DIY" | "K8S_SERVICE";
  /** Extra environment given to every replica. */
  env?: Record<string, string>;
  /** CLUSTER_NAME (default: the runtime's cluster name). */
  cluster?: string;
  /** Default: TCP connect to AUTO_PORT0 (no ports: ready once started). */
  readinessProbe?: ProbeSpec;
  /** Default: none (a pod restarts only when its process exits). */
  livenessProbe?: ProbeSpec;
  /** The deployment revision (podRevision label of new pods; default 1). */
  revision?: number;
  /** Digest of the pod template (podTemplateHash label): pods with another one are old. */
  templateHash?: string;
  /** Rolling update bounds (default surge 1, unavailable 0). */
  strategy?: { maxSurge: number; maxUnavailable: number };
  /** No progress for this long fails the rollout (default 120). */
  progressDeadlineSeconds?: number;
}

/** Per-deployment facts the server knows: its address and the pods' credentials. */
export interface PodContext {
  serverAddr: string;
  /** The pod's DOMEOS_AGENT_TOKEN, bound to its UID (metadata.uid). */
  podToken(podName: string, uid: string): string;
}

/** The runtime as the server drives it (the server's `PodRuntime` seam). */
export interface PodRuntimeLike {
  ensure(deployment: RuntimeDeployment, ctx?: PodContext): Promise<void>;
  remove(namespace: string, name: string): Promise<void>;
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
