// The Kubernetes v1 Pod object the runtime keeps in the store for each
// replica (/registry/pods/{ns}/{name}): the layout the seed's confd template
// and the server's agent API read. Only the fields a standalone host uses.
import type { PodPhase, RuntimeDeployment } from "./types.js";

export interface ContainerState {
  running?: { startedAt: string };
  waiting?: { reason: string; message?: string };
  terminated?: { exitCode: number; signal?: number; reason: string; finishedAt: string };
}

export interface PodObject {
  apiVersion: "v1";
  kind: "Pod";
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    creationTimestamp: string;
    /** Set when the pod is being deleted: load balancers stop routing to it (Kubernetes' field). */
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    hostNetwork: boolean;
    restartPolicy: "Always";
    nodeName: string;
    containers: {
      name: string;
      command: string[];
      env: EnvVar[];
      workingDir: string;
    }[];
  };
  status: {
    phase: PodPhase;
    hostIP: string;
    podIP?: string;
    startTime?: string;
    /** Ready and ContainersReady, as the kubelet writes them. */
    conditions?: PodCondition[];
    containerStatuses: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: ContainerState;
      lastState?: ContainerState;
    }[];
  };
}

export interface PodCondition {
  type: "Ready" | "ContainersReady";
  status: "True" | "False";
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export const CONTAINER_NAME = "app";

/**
 * The routing contract shared with domeos-confd's templates and Kubernetes:
 * a pod gets traffic only when its Ready condition is True and it is not
 * being deleted.
 */
export function isRoutable(pod: PodObject): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}

/**
 * Set Ready and ContainersReady; lastTransitionTime changes only when the
 * status does (Kubernetes' rule), so a rewrite of the same state is a no-op.
 */
export function setReadyConditions(
  pod: PodObject,
  ready: boolean,
  reason?: string,
  message?: string,
): void {
  const status = ready ? "True" : "False";
  const now = new Date().toISOString();
  const old = pod.status.conditions ?? [];
  const next = (type: PodCondition["type"]): PodCondition => {
    const prev = old.find((c) => c.type === type);
    const c: PodCondition = {
      type,
      status,
      lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now,
    };
    if (reason) c.reason = reason;
    if (message) c.message = message;
    return c;
  };
  const others = old.filter((c) => c.type !== "Ready" && c.type !== "ContainersReady");
  pod.status.conditions = [...others, next("ContainersReady"), next("Ready")];
}

export interface NewPodInput {
  deployment: RuntimeDeployment;
  name: string;
  uid: string;
  nodeName: string;
  hostIP: string;
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
}

/** A freshly scheduled pod: Pending, no IP until its process is up. */
export function newPodObject(input: NewPodInput): PodObject {
  const d = input.deployment;
  const pod: PodObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: input.name,
      namespace: d.namespace,
      uid: input.uid,
      creationTimestamp: new Date().toISOString(),
      labels: {
        deployName: d.name,
        app: d.name,
        ...(d.revision !== undefined ? { podRevision: String(d.revision) } : {}),
        ...(d.templateHash !== undefined ? { podTemplateHash: d.templateHash } : {}),
      },
      annotations: { deployName: d.name, accessType: d.accessType },
    },
    spec: {
      hostNetwork: d.networkMode === "HOST",
      restartPolicy: "Always",
      nodeName: input.nodeName,
      containers: [
        {
          name: CONTAINER_NAME,
          command: input.argv,
          env: storedEnv(input.env, input.name),
          workingDir: input.workingDir,
        },
      ],
    },
    status: {
      phase: "Pending",
      hostIP: input.hostIP,
      containerStatuses: [
        {
          name: CONTAINER_NAME,
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: "ContainerCreating" } },
        },
      ],
    },
  };
  setReadyConditions(pod, false, "ContainerCreating");
  return pod;
}

/** The deployment a stored pod belongs to (its deployName annotation or label). */
export function podDeployName(pod: PodObject): string | undefined {
  return pod.metadata?.annotations?.deployName ?? pod.metadata?.labels?.deployName;
}

/** AUTO_PORTn annotations in index order. */
export function podAutoPorts(pod: PodObject): number[] {
  const ann = pod.metadata?.annotations ?? {};
  const ports: number[] = [];
  for (let i = 0; ; i++) {
    const v = ann[`AUTO_PORT${i}`];
    if (v === undefined) return ports;
    ports.push(Number(v));
  }
}

/** A container env entry as Kubernetes stores it: a value, or a reference to a Secret. */
export type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

/** Secret name (as in the Kubernetes manifests) the stored spec refers to for the token. */
export const AGENT_TOKEN_SECRET = "domeos-agent-token";

/**
 * The env as stored in the pod object. The agent token is not written there
 * (anyone who can read the store could act as the pod): the spec names it as
 * a Secret reference, as a Kubernetes pod does, and the runtime hands the
 * value to the process only.
 */
function storedEnv(env: Record<string, string>, pod: string): EnvVar[] {
  return Object.entries(env).map(([name, value]) =>
    name === "DOMEOS_AGENT_TOKEN"
      ? { name, valueFrom: { secretKeyRef: { name: AGENT_TOKEN_SECRET, key: pod } } }
      : { name, value },
  );
}
