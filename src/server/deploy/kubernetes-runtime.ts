// Runs deployments on a Kubernetes cluster: server-side apply of the
// manifest (the token Secret and the Deployment) on ensure(), deletion of
// both on remove(). Thin on purpose: the apiserver does the rest, rollouts
// included (the Deployment controller rolls; rolloutStatus() and revisions()
// read its Deployment and ReplicaSets, kubernetes-rollout.ts). Talks to
// the API with @kubernetes/client-node's KubeConfig (in-cluster, kubeconfig
// file, or default) and its fetch transport.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import type { IDeployment, IReplicaSet } from "kubernetes-models/apps/v1";
import { StoreUnavailableError } from "../../store/store.js";
import { HttpError } from "../http/errors.js";
import { latestReplicaSet, podProblem, revisionsFrom, statusFrom } from "./kubernetes-rollout.js";
import { podLabels, tokenSecretName, toManifest } from "./manifest.js";
import type { Deployment } from "./model.js";
import type { RevisionRecord, RolloutStatus, SelfRollingRuntime } from "./rollout-types.js";
import type { DeployContext, PodRuntime } from "./runtime.js";

export const FIELD_MANAGER = "domeos-server";

export interface KubernetesRuntimeOptions {
  /** kubeconfig file; default: in-cluster when running in a pod, else ~/.kube/config. */
  kubeconfig?: string;
  context?: string;
  timeoutMs?: number;
}

export class KubernetesRuntime implements PodRuntime, SelfRollingRuntime {
  readonly name = "kubernetes";
  /** The Deployment controller replaces the pods; the server only applies the new spec. */
  readonly rollsItself = true;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly timeoutMs: number;

  constructor(
    private readonly kc: KubeConfig,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  static fromOptions(o: KubernetesRuntimeOptions = {}): KubernetesRuntime {
    const kc = new KubeConfig();
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (o.context) kc.setCurrentContext(o.context);
    if (!kc.getCurrentCluster())
      throw new Error("kubernetes runtime: the kubeconfig has no current cluster");
    return new KubernetesRuntime(kc, { timeoutMs: o.timeoutMs });
  }

  /** Kubernetes runs containers: an image is needed, checked before anything is stored (create and PATCH). */
  validate(input: Record<string, unknown>): string[] {
    if (input.image !== undefined && input.image !== null) return [];
    return [
      "image is required with --runtime kubernetes (Kubernetes runs containers; a command only replaces the image's entrypoint)",
    ];
  }

  async ensure(d: Deployment, ctx?: DeployContext): Promise<void> {
    if (!ctx)
      throw new Error(
        "kubernetes runtime: ensure() needs the deploy context (server address, token)",
      );
    if (!d.image)
      throw new HttpError(
        400,
        `deployment ${d.namespace}/${d.name} has no image; Kubernetes needs one`,
      );
    for (const obj of toManifest(d, {
      serverAddr: ctx.serverAddr,
      deploymentToken: ctx.deploymentToken,
      portRange: ctx.portRange,
      domeizeImage: ctx.domeizeImage,
      change: ctx.change,
    })) {
      await this.apply(obj);
    }
  }

  async rolloutStatus(d: Deployment): Promise<RolloutStatus> {
    const dep = await this.deployment(d);
    const rs = latestReplicaSet(dep, await this.replicaSets(d));
    const notReady = (rs?.status?.replicas ?? 0) > (rs?.status?.readyReplicas ?? 0);
    const problems = rs && notReady ? await this.podProblems(rs) : [];
    return statusFrom(dep, rs, problems);
  }

  /** Why the new ReplicaSet's pods are not Ready (the first few, by pod name). */
  private async podProblems(rs: IReplicaSet): Promise<string[]> {
    const labels = rs.spec?.selector?.matchLabels ?? {};
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const list = (await this.call(
      HttpMethod.GET,
      `${podsPath(rs.metadata?.namespace ?? "")}?labelSelector=${encodeURIComponent(selector)}`,
    )) as { items?: unknown[] } | undefined;
    return (list?.items ?? [])
      .map(podProblem)
      .filter((p): p is string => p !== undefined)
      .sort()
      .slice(0, MAX_POD_PROBLEMS);
  }

  async revisions(d: Deployment): Promise<RevisionRecord[]> {
    const dep = await this.deployment(d);
    return revisionsFrom(dep, await this.replicaSets(d));
  }

  private async deployment(d: Deployment): Promise<IDeployment> {
    const dep = await this.call(
      HttpMethod.GET,
      deploymentPath(d.namespace, d.name),
      undefined,
      [404],
    );
    if (dep === undefined)
      throw new HttpError(
        502,
        `kubernetes: Deployment ${d.namespace}/${d.name} is not in the cluster (deleted outside domeos?); PATCH the deployment to apply it again`,
      );
    return dep as IDeployment;
  }

  /** The ReplicaSets selected by the deployment's pod labels (ownership is checked by UID after). */
  private async replicaSets(d: Deployment): Promise<IReplicaSet[]> {
    const selector = Object.entries(podLabels(d))
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const list = (await this.call(
      HttpMethod.GET,
      `${replicaSetsPath(d.namespace)}?labelSelector=${encodeURIComponent(selector)}`,
    )) as { items?: IReplicaSet[] } | undefined;
    return list?.items ?? [];
  }

  async remove(namespace: string, name: string): Promise<void> {
    // Deployment first (its pods stop using the token), then the Secret; absent is fine.
    await this.call(HttpMethod.DELETE, deploymentPath(namespace, name), undefined, [404]);
    await this.call(
      HttpMethod.DELETE,
      secretPath(namespace, tokenSecretName(name)),
      undefined,
      [404],
    );
  }

  private async apply(obj: { kind: string; metadata?: { name?: string; namespace?: string } }) {
    const meta = obj.metadata as { name: string; namespace: string };
    const path =
      obj.kind === "Secret"
        ? secretPath(meta.namespace, meta.name)
        : deploymentPath(meta.namespace, meta.name);
    // Server-side apply: create or update, owning only the fields we set.
    await this.call(HttpMethod.PATCH, `${path}?fieldManager=${FIELD_MANAGER}&force=true`, obj);
  }

  /** The answer's JSON body; undefined for a status in `okStatuses` (absent is fine). */
  private async call(
    method: HttpMethod,
    path: string,
    body?: unknown,
    okStatuses: number[] = [],
  ): Promise<unknown> {
    const server = this.kc.getCurrentCluster()!.server.replace(/\/+$/, "");
    const ctx = new RequestContext(server + path, method);
    ctx.setHeaderParam("Accept", "application/json");
    if (body !== undefined) {
      // JSON is YAML: the apply content type takes it as is.
      ctx.setHeaderParam("Content-Type", "application/apply-patch+yaml");
      ctx.setBody(JSON.stringify(body));
    }
    ctx.setSignal(AbortSignal.timeout(this.timeoutMs));
    let status: number;
    let text: string;
    try {
      await this.kc.applySecurityAuthentication(ctx);
      const res = await this.http.send(ctx).toPromise();
      status = res.httpStatusCode;
      text = await res.body.text();
    } catch (err) {
      throw new StoreUnavailableError(
        `kubernetes ${server}: ${method} ${path}: ${(err as Error).message}`,
      );
    }
    if (okStatuses.includes(status)) return undefined;
    if (status >= 200 && status < 300) return parseBody(text);
    const msg = `kubernetes ${method} ${path.split("?")[0]}: HTTP ${status}: ${apiMessage(text)}`;
    if (status >= 500) throw new StoreUnavailableError(msg);
    throw new HttpError(502, msg);
  }
}

const deploymentPath = (ns: string, name: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}`;
/** Pod problems named in a rollout's reason (the rest are alike). */
const MAX_POD_PROBLEMS = 2;

const podsPath = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
const replicaSetsPath = (ns: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets`;
const secretPath = (ns: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`;

function parseBody(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The apiserver's Status message, or the start of the body. */
function apiMessage(text: string): string {
  try {
    const s = JSON.parse(text) as { message?: string };
    if (typeof s.message === "string") return s.message;
  } catch {
    // not a Status object
  }
  return text.slice(0, 200);
}
