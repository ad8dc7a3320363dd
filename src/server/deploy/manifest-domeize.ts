// How domeize gets into an application pod on Kubernetes and how the kubelet
// watches it: the injection init container (an unmodified image runs under
// domeize), the node-wide state dir, the exec probes that read the ports
// domeize chose, and the preStop drain. One place for these paths, so the
// init container, the command prefix and the probes never disagree.
import type {
  IContainer,
  IEnvVar,
  ILifecycle,
  IProbe,
  IVolume,
  IVolumeMount,
} from "kubernetes-models/v1";
import { DRAIN_DEFAULTS } from "../../runtime/drain.js";
import type { Deployment } from "./model.js";
import { defaultReadiness, type ProbeSpec, probePortIndex } from "./probe-spec.js";

/** Where the domeize image keeps its self-contained executable (examples/domeize). */
export const DOMEIZE_IMAGE_PATH = "/domeize";
/** The image the init container copies domeize from; "" = the app image has domeize on PATH. */
export const DEFAULT_DOMEIZE_IMAGE = "domeos/domeize:0.1.0";
/** The shared emptyDir the executable is copied into, and its path in the app container. */
export const INJECT_DIR = "/domeos/bin";
export const INJECTED_DOMEIZE = `${INJECT_DIR}/domeize`;
/** DOMEIZE_STATE_DIR: a hostPath shared by every pod of a node (port claims, sticky ports). */
export const STATE_DIR = "/var/lib/domeize";

/**
 * Seconds between the pod being marked for deletion and SIGTERM to the app:
 * confd sees the deletionTimestamp, renders and reloads nginx meanwhile, so
 * no new request reaches a pod that is about to stop (docs/kubernetes.md).
 * The process runtime's longest wait for the same (its drain's timeout).
 */
export const DRAIN_SECONDS = DRAIN_DEFAULTS.timeoutMs / 1000;
/** What the app gets after SIGTERM before SIGKILL. */
export const APP_STOP_SECONDS = 30;

const VOL_BIN = "domeize-bin";
const VOL_STATE = "domeize-state";

export interface DomeizeInjection {
  /** The domeize image (DEFAULT_DOMEIZE_IMAGE); "" = no init container, domeize is on the image's PATH. */
  image: string;
}

/** The domeize executable as the app container sees it. */
export const domeizePath = (inj: DomeizeInjection): string =>
  inj.image === "" ? "domeize" : INJECTED_DOMEIZE;

/**
 * The init container: domeize copies itself into the shared emptyDir (the
 * domeize image has no shell or cp, so domeize does the copy).
 */
export function injectContainer(inj: DomeizeInjection): IContainer[] {
  if (inj.image === "") return [];
  return [
    {
      name: "domeize-inject",
      image: inj.image,
      command: [DOMEIZE_IMAGE_PATH, "probe", "install", INJECTED_DOMEIZE],
      volumeMounts: [{ name: VOL_BIN, mountPath: INJECT_DIR }],
      // The executable is ~110 MB (Bun's runtime inside); the copy is a kernel copy.
      resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "256Mi" } },
    },
  ];
}

/**
 * The app's command: the deployment's command run by domeize. Without a
 * command the image's own entrypoint runs (it must start domeize itself, as
 * DomeOS images did); probes and the drain still come from the injection.
 */
export function appCommand(d: Deployment, inj: DomeizeInjection): string[] | undefined {
  if (!d.command) return undefined;
  return [domeizePath(inj), ...d.command];
}

/** DOMEIZE_STATE_DIR, when the pod allocates host ports. */
export function stateDirEnv(d: Deployment): IEnvVar[] {
  return needsHostPorts(d) ? [{ name: "DOMEIZE_STATE_DIR", value: STATE_DIR }] : [];
}

export function volumes(d: Deployment, inj: DomeizeInjection): IVolume[] {
  const out: IVolume[] = [];
  if (inj.image !== "") out.push({ name: VOL_BIN, emptyDir: { sizeLimit: "256Mi" } });
  if (needsHostPorts(d))
    out.push({ name: VOL_STATE, hostPath: { path: STATE_DIR, type: "DirectoryOrCreate" } });
  return out;
}

export function volumeMounts(d: Deployment, inj: DomeizeInjection): IVolumeMount[] {
  const out: IVolumeMount[] = [];
  if (inj.image !== "") out.push({ name: VOL_BIN, mountPath: INJECT_DIR, readOnly: true });
  if (needsHostPorts(d)) out.push({ name: VOL_STATE, mountPath: STATE_DIR });
  return out;
}

/**
 * Probes for dynamic host ports: the deployment's readiness check (default:
 * AUTO_PORT0 accepts TCP) and liveness check (default: none, the app is
 * restarted only when it exits) run by `domeize probe ready|live`, which
 * reads the ports domeize chose from the state dir, so nothing in the
 * manifest names a port. `ready` also requires the ports to be held by the
 * running app. With a liveness check, a startup probe covers domeize's -wait.
 */
export function probes(
  d: Deployment,
  inj: DomeizeInjection,
): Pick<IContainer, "startupProbe" | "readinessProbe" | "livenessProbe"> {
  if (!needsHostPorts(d)) return {};
  const ready = execProbe(inj, "ready", d.readinessProbe ?? defaultReadiness());
  if (!d.livenessProbe) return { readinessProbe: ready };
  const startup: IProbe = {
    ...ready,
    periodSeconds: 2,
    failureThreshold: 300,
    successThreshold: 1,
  };
  delete startup.initialDelaySeconds;
  return {
    startupProbe: startup,
    readinessProbe: ready,
    livenessProbe: execProbe(inj, "live", d.livenessProbe),
  };
}

/** A probe of the deployment as the kubelet's exec probe; seconds rounded up (whole seconds there). */
function execProbe(inj: DomeizeInjection, verb: "ready" | "live", p: ProbeSpec): IProbe {
  const check = p.httpGet
    ? ["http", String(probePortIndex(p.httpGet.port)), p.httpGet.path]
    : ["tcp", String(probePortIndex(p.tcpSocket!.port))];
  const whole = (s: number) => Math.max(1, Math.ceil(s));
  const probe: IProbe = {
    exec: { command: [domeizePath(inj), "probe", verb, ...check] },
    periodSeconds: whole(p.periodSeconds),
    timeoutSeconds: whole(p.timeoutSeconds),
    failureThreshold: p.failureThreshold,
    successThreshold: p.successThreshold,
  };
  if (p.initialDelaySeconds > 0) probe.initialDelaySeconds = Math.ceil(p.initialDelaySeconds);
  return probe;
}

/** preStop: wait DRAIN_SECONDS (domeize sleeps; the image may have no sleep binary). */
export function drainLifecycle(inj: DomeizeInjection): ILifecycle {
  return {
    preStop: { exec: { command: [domeizePath(inj), "probe", "drain", `${DRAIN_SECONDS}s`] } },
  };
}

const needsHostPorts = (d: Deployment) => d.networkMode === "HOST" && d.ports > 0;
