// A deployment as Kubernetes objects, shaped exactly as DomeOS produced
// them: hostNetwork, the domeize environment, deployName/accessType
// annotations and the deployName label. Adds one thing DomeOS lacked: the
// agent credential, kept in a Secret and injected as DOMEOS_AGENT_TOKEN.
import type { PortRange } from "../agent/annotation-policy.js";
import { mintDeploymentToken } from "../auth/pod-token.js";
import { type Deployment, templatesEnv } from "./model.js";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } } | { secretKeyRef: { name: string; key: string } };
}

/** How the pod gets its credential: a literal token, or a reference to the deployment's Secret. */
export type TokenSource = { value: string } | { secretName: string };

export interface PodContext {
  /** DOMEOS_SERVER_ADDR: the server URL as pods reach it, with scheme. */
  serverAddr: string;
  token: TokenSource;
  /** The server's port range; domeize is told when it is not domeize's default. */
  portRange?: PortRange;
}

/** domeize's AVAILABLE_PORT_START/END when unset (src/domeize/env.ts). */
export const DOMEIZE_DEFAULT_PORT_RANGE: PortRange = { min: 20000, max: 20999 };

export const TOKEN_SECRET_KEY = "DOMEOS_AGENT_TOKEN";
export const tokenSecretName = (deployName: string) => `${deployName}-domeos-agent`;

/** The environment domeize expects, in DomeOS order, then the user's env sorted by name. */
export function podEnv(d: Deployment, ctx: PodContext): EnvVar[] {
  const env: EnvVar[] = [{ name: "NETWORK_MODE", value: d.networkMode }];
  if (d.ports > 0) env.push({ name: "NEED_PORTS", value: String(d.ports) });
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
    { name: "MY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "MY_POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
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
export function toPodSpec(d: Deployment, ctx: PodContext): Record<string, unknown> {
  const container: Record<string, unknown> = { name: d.name };
  if (d.image) container.image = d.image;
  if (d.command) container.command = d.command;
  container.env = podEnv(d, ctx);
  const spec: Record<string, unknown> = {};
  if (d.networkMode === "HOST") {
    spec.hostNetwork = true;
    // Without this, a host-network pod cannot resolve cluster DNS names.
    spec.dnsPolicy = "ClusterFirstWithHostNet";
  }
  spec.containers = [container];
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
}

/** [Secret, Deployment] ready for `kubectl apply`. */
export function toManifest(d: Deployment, ctx: ManifestContext): Record<string, unknown>[] {
  const secretName = tokenSecretName(d.name);
  const token =
    ctx.deploymentToken ??
    (ctx.secret !== undefined
      ? mintDeploymentToken(ctx.secret, d.cluster, d.namespace, d.name)
      : "");
  if (token === "") throw new Error("toManifest: give the server secret or the deployment token");
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName, namespace: d.namespace, labels: podLabels(d) },
    type: "Opaque",
    stringData: { [TOKEN_SECRET_KEY]: token },
  };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: d.name,
      namespace: d.namespace,
      labels: podLabels(d),
      annotations: podAnnotations(d),
    },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: podLabels(d) },
      template: {
        metadata: { labels: podLabels(d), annotations: podAnnotations(d) },
        spec: toPodSpec(d, {
          serverAddr: ctx.serverAddr,
          token: { secretName },
          portRange: ctx.portRange,
        }),
      },
    },
  };
  return [secret, deployment];
}
