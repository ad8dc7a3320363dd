// A deployment as Kubernetes objects, shaped as DomeOS produced them
// (hostNetwork, the domeize environment, deployName/accessType annotations
// and the deployName label), plus what a multi-host cluster needs and DomeOS
// lacked: the agent credential in a Secret, the downward-API identity of the
// pod and its node, the node-wide domeize state dir, probes that work with
// dynamic host ports, a drain before SIGTERM, and domeize injected into an
// unmodified image (manifest-domeize.ts).
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IContainer, IEnvVar, IPodSpec, ISecret } from "kubernetes-models/v1";
import type { PortRange } from "../agent/annotation-policy.js";
import { mintDeploymentToken } from "../auth/pod-token.js";
import {
  APP_STOP_SECONDS,
  appCommand,
  DEFAULT_DOMEIZE_IMAGE,
  type DomeizeInjection,
  DRAIN_SECONDS,
  drainLifecycle,
  injectContainer,
  probes,
  stateDirEnv,
  volumeMounts,
  volumes,
} from "./manifest-domeize.js";
import {
  type ChangeRecord,
  changeAnnotations,
  encodeSpec,
  rolloutSpec,
  SPEC_ANNOTATION,
} from "./manifest-rollout.js";
import { type Deployment, needPortsEnv, templatesEnv } from "./model.js";

export type EnvVar = IEnvVar;

/** How the pod gets its credential: a literal token, or a reference to the deployment's Secret. */
export type TokenSource = { value: string } | { secretName: string };

export interface PodContext {
  /** DOMEOS_SERVER_ADDR: the server URL as pods reach it, with scheme. */
  serverAddr: string;
  token: TokenSource;
  /** The server's port range; domeize is told when it is not domeize's default. */
  portRange?: PortRange;
  /** The domeize image of the init container [DEFAULT_DOMEIZE_IMAGE]; "" = none. */
  domeizeImage?: string;
}

/** domeize's AVAILABLE_PORT_START/END when unset (src/domeize/env.ts). */
export const DOMEIZE_DEFAULT_PORT_RANGE: PortRange = { min: 20000, max: 20999 };

export const TOKEN_SECRET_KEY = "DOMEOS_AGENT_TOKEN";
export const tokenSecretName = (deployName: string) => `${deployName}-domeos-agent`;

const field = (name: string, fieldPath: string): IEnvVar => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

/**
 * The environment domeize expects, in DomeOS order, then the pod's identity
 * from the downward API, then the user's env sorted by name.
 */
export function podEnv(d: Deployment, ctx: PodContext): IEnvVar[] {
  const env: IEnvVar[] = [{ name: "NETWORK_MODE", value: d.networkMode }];
  if (d.ports > 0) env.push({ name: "NEED_PORTS", value: needPortsEnv(d) });
  // domeize rejects ledger ports outside its range: give it the server's when it differs.
  const range = ctx.portRange;
  if (d.ports > 0 && range && !sameRange(range, DOMEIZE_DEFAULT_PORT_RANGE)) {
    env.push(
      { name: "AVAILABLE_PORT_START", value: String(range.min) },
      { name: "AVAILABLE_PORT_END", value: String(range.max) },
    );
  }
  env.push(
    { name: "DOMEOS_SERVER_ADDR", value: ctx.serverAddr },
    { name: "CLUSTER_NAME", value: d.cluster },
    field("MY_POD_NAME", "metadata.name"),
    field("MY_POD_NAMESPACE", "metadata.namespace"),
    field("MY_POD_UID", "metadata.uid"),
    field("NODE_NAME", "spec.nodeName"),
    // domeize sends it as the report's host: the ledger is per node.
    field("HOST_IP", "status.hostIP"),
    ...stateDirEnv(d),
  );
  if (d.templates.length > 0) env.push({ name: "DOMEIZE_TEMPLATES", value: templatesEnv(d) });
  env.push(
    "value" in ctx.token
      ? { name: "DOMEOS_AGENT_TOKEN", value: ctx.token.value }
      : {
          name: "DOMEOS_AGENT_TOKEN",
          valueFrom: { secretKeyRef: { name: ctx.token.secretName, key: TOKEN_SECRET_KEY } },
        },
  );
  for (const k of Object.keys(d.env).sort()) env.push({ name: k, value: d.env[k]! });
  return env;
}

const sameRange = (a: PortRange, b: PortRange) => a.min === b.min && a.max === b.max;

export const podLabels = (d: Deployment) => ({ deployName: d.name });
export const podAnnotations = (d: Deployment) => ({ deployName: d.name, accessType: d.accessType });

/** The pod spec (the template's `spec`) of a deployment. */
export function toPodSpec(d: Deployment, ctx: PodContext): IPodSpec {
  const inj: DomeizeInjection = { image: ctx.domeizeImage ?? DEFAULT_DOMEIZE_IMAGE };
  const container: IContainer = { name: d.name };
  if (d.image) container.image = d.image;
  const command = appCommand(d, inj);
  if (command) container.command = command;
  container.env = podEnv(d, ctx);
  const mounts = volumeMounts(d, inj);
  if (mounts.length > 0) container.volumeMounts = mounts;
  Object.assign(container, probes(d, inj));
  container.lifecycle = drainLifecycle(inj);
  const spec: IPodSpec = { containers: [] };
  if (d.networkMode === "HOST") {
    spec.hostNetwork = true;
    // Without this, a host-network pod cannot resolve cluster DNS names.
    spec.dnsPolicy = "ClusterFirstWithHostNet";
  }
  spec.terminationGracePeriodSeconds = DRAIN_SECONDS + APP_STOP_SECONDS;
  const init = injectContainer(inj);
  if (init.length > 0) spec.initContainers = init;
  spec.containers = [container];
  const vols = volumes(d, inj);
  if (vols.length > 0) spec.volumes = vols;
  return spec;
}

export interface ManifestContext {
  serverAddr: string;
  /** The server's HMAC secret: the Secret carries the deployment token minted from it. */
  secret?: string;
  /** Or the deployment token itself (runtimes get it in their DeployContext). */
  deploymentToken?: string;
  /** The server's port range (AVAILABLE_PORT_START/END when not domeize's default). */
  portRange?: PortRange;
  /** The domeize image of the injection init container [DEFAULT_DOMEIZE_IMAGE]; "" = none. */
  domeizeImage?: string;
  /** Why and by whom this apply changes the deployment (change-cause annotations). */
  change?: ChangeRecord;
}

/** [Secret, Deployment] ready for `kubectl apply`. */
export function toManifest(d: Deployment, ctx: ManifestContext): [ISecret, IDeployment] {
  const secretName = tokenSecretName(d.name);
  const token =
    ctx.deploymentToken ??
    (ctx.secret !== undefined
      ? mintDeploymentToken(ctx.secret, d.cluster, d.namespace, d.name)
      : "");
  if (token === "") throw new Error("toManifest: give the server secret or the deployment token");
  const secret: ISecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName, namespace: d.namespace, labels: podLabels(d) },
    type: "Opaque",
    stringData: { [TOKEN_SECRET_KEY]: token },
  };
  const deployment: IDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: d.name,
      namespace: d.namespace,
      labels: podLabels(d),
      annotations: { ...podAnnotations(d), ...changeAnnotations(ctx.change) },
    },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: podLabels(d) },
      ...rolloutSpec(d),
      template: {
        // the spec rides on the template: each ReplicaSet keeps the revision it runs
        metadata: {
          labels: podLabels(d),
          annotations: { ...podAnnotations(d), [SPEC_ANNOTATION]: encodeSpec(d) },
        },
        spec: toPodSpec(d, {
          serverAddr: ctx.serverAddr,
          token: { secretName },
          portRange: ctx.portRange,
          domeizeImage: ctx.domeizeImage,
        }),
      },
    },
  };
  return [secret, deployment];
}
