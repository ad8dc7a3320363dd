// Admin API for host-mode deployments (bearer admin token):
//   POST   /api/deployments                      create (body: deployment)
//   GET    /api/deployments[?namespace=]         list
//   GET    /api/deployments/{ns}/{name}          one
//   PATCH  /api/deployments/{ns}/{name}          change any field (rollout-routes.ts)
//   DELETE /api/deployments/{ns}/{name}          delete
//   GET    /api/deployments/{ns}/{name}/manifest Kubernetes objects (?format=yaml|json)
//   GET .../history, POST .../rollback, GET .../rollout  (rollout-routes.ts)
// Every route takes ?cluster= (default "default").
import { stringify as toYaml } from "yaml";
import type { PortRange } from "../agent/annotation-policy.js";
import { requireAdmin } from "../auth/admin.js";
import { mintDeploymentToken, mintInstanceToken } from "../auth/pod-token.js";
import type { Cluster, ClusterRegistry } from "../cluster/registry.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { badRequest } from "../http/errors.js";
import { requireClusterName, requireLabel } from "../http/names.js";
import { sendEnvelope, sendOk, sendText } from "../http/respond.js";
import type { RequestContext, Router } from "../http/router.js";
import type { Logger } from "../log/logger.js";
import { undoCreate } from "./cluster-first.js";
import { capacityProblem, templateProblems } from "./create-checks.js";
import { toManifest } from "./manifest.js";
import {
  DEFAULT_REVISION_HISTORY_LIMIT,
  type Deployment,
  DeploymentError,
  parseDeployment,
} from "./model.js";
import {
  deploymentHistory,
  rollbackDeployment,
  rolloutStatus,
  updateDeployment,
  whoAsked,
} from "./rollout-routes.js";
import { RevisionHistory, specOf } from "./rollout-store.js";
import { type DeployContext, isSelfRolling, type PodRuntime, rollsHere } from "./runtime.js";

export interface DeployDeps {
  clusters: ClusterRegistry;
  adminToken: string;
  secret: string;
  serverAddr: () => string;
  /** The ledger's port range (pods' domeize is told when it is not the default). */
  portRange?: PortRange;
  /** Kubernetes manifests: the domeize injection image ("" = none). */
  domeizeImage?: string;
  runtime: PodRuntime;
  bodyLimit: number;
  log: Logger;
}

const ONE = "/api/deployments/:ns/:name";

export function addDeployRoutes(router: Router, deps: DeployDeps): void {
  const admin = (h: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
    requireAdmin(ctx.req, deps.adminToken);
    await h(ctx);
  };
  router.add(
    "POST",
    "/api/deployments",
    "deploy_create",
    admin((c) => create(c, deps)),
  );
  router.add(
    "GET",
    "/api/deployments",
    "deploy_list",
    admin((c) => list(c, deps)),
  );
  router.add(
    "GET",
    ONE,
    "deploy_get",
    admin((c) => getOne(c, deps)),
  );
  router.add(
    "PATCH",
    ONE,
    "deploy_update",
    admin((c) => updateDeployment(c, deps)),
  );
  router.add(
    "GET",
    `${ONE}/history`,
    "deploy_history",
    admin((c) => deploymentHistory(c, deps)),
  );
  router.add(
    "POST",
    `${ONE}/rollback`,
    "deploy_rollback",
    admin((c) => rollbackDeployment(c, deps)),
  );
  router.add(
    "GET",
    `${ONE}/rollout`,
    "deploy_rollout",
    admin((c) => rolloutStatus(c, deps)),
  );
  router.add(
    "DELETE",
    ONE,
    "deploy_delete",
    admin((c) => remove(c, deps)),
  );
  router.add(
    "GET",
    `${ONE}/manifest`,
    "deploy_manifest",
    admin((c) => manifest(c, deps)),
  );
}

/**
 * The cluster a request names (?cluster=, else the body's "cluster", else
 * "default"). When both name one they must agree: a request acts on exactly
 * one cluster, its store and its pods.
 */
export function clusterOf(ctx: RequestContext, deps: DeployDeps, body?: Record<string, unknown>) {
  const query = ctx.query.get("cluster");
  const inBody = body?.cluster;
  if (query !== null && inBody !== undefined && inBody !== query) {
    throw badRequest(
      `cluster ${JSON.stringify(query)} in the query and ${JSON.stringify(inBody)} in the body disagree; name one cluster`,
    );
  }
  const name = query ?? (typeof inBody === "string" ? inBody : "default");
  requireClusterName("cluster", name);
  return deps.clusters.get(name);
}

export function deployContext(
  d: Deployment,
  deps: Pick<DeployDeps, "secret" | "serverAddr" | "portRange" | "domeizeImage">,
): DeployContext {
  return {
    serverAddr: deps.serverAddr(),
    portRange: deps.portRange,
    domeizeImage: deps.domeizeImage,
    podToken: (pod, uid) => mintInstanceToken(deps.secret, d.cluster, d.namespace, pod, uid),
    deploymentToken: mintDeploymentToken(deps.secret, d.cluster, d.namespace, d.name),
  };
}

async function create(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit), "deployment");
  const cluster = clusterOf(ctx, deps, body);
  body.cluster = cluster.name;
  if (body.revision !== undefined)
    throw new DeploymentError(["revision is set by the server and cannot be given"]);
  const d = { ...parseWithRuntime(body, deps.runtime), revision: 1 };
  const problems = [...(await templateProblems(d)), ...(await capacityProblems(d, cluster, deps))];
  if (problems.length > 0) throw new DeploymentError(problems);
  const stored = await cluster.deployments.create(d);
  const by = whoAsked(ctx);
  await recordCreation(cluster, stored, deps, by);
  deps.log.info("deployment created", {
    cluster: d.cluster,
    deployment: `${d.namespace}/${d.name}`,
    replicas: d.replicas,
  });
  // self-rolling runtimes record revision 1's cause with it (the stored history has it too)
  const change = { cause: "create", at: stored.createdAt, ...(by ? { by } : {}) };
  try {
    await deps.runtime.ensure(stored, { ...deployContext(stored, deps), change });
  } catch (err) {
    // the store is never ahead of a cluster that refused (cluster-first.ts)
    if (isSelfRolling(deps.runtime)) await undoCreate(cluster, stored, deps.log);
    throw err;
  }
  sendEnvelope(ctx.res, 201, "Created", stored);
}

/** Revision 1 in the history, and its rollout (Progressing until the runtime's pods are Ready). */
async function recordCreation(
  cluster: Cluster,
  d: Deployment,
  deps: DeployDeps,
  by: string | undefined,
): Promise<void> {
  const history = new RevisionHistory(cluster.store);
  const at = d.createdAt ?? new Date().toISOString();
  await history.add(
    d.namespace,
    d.name,
    { revision: 1, spec: specOf(d), createdAt: at, ...(by ? { by } : {}), cause: "create" },
    d.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT,
  );
  const runs = rollsHere(deps.runtime, d) || isSelfRolling(deps.runtime);
  await history.setRollout(d.namespace, d.name, {
    revision: 1,
    phase: runs ? "Progressing" : "Complete",
    startedAt: at,
    ...(runs ? {} : { finishedAt: at }),
  });
}

/** The port-range problem of a deployment about to be stored (its cluster's others counted). */
async function capacityProblems(
  d: Deployment,
  cluster: Cluster,
  deps: DeployDeps,
): Promise<string[]> {
  if (!deps.portRange) return [];
  const singleHost = deps.runtime.name === "process";
  const others = singleHost ? await singleHostDeployments(cluster) : [];
  const p = capacityProblem(d, deps.portRange, singleHost, others);
  return p ? [p] : [];
}

/** The process runtime runs the cluster's deployments that have a command, all on this host. */
export async function singleHostDeployments(cluster: Cluster): Promise<Deployment[]> {
  return (await cluster.deployments.list()).filter((o) => o.command !== undefined);
}

/**
 * The model's problems and the runtime's, reported together (HTTP 400,
 * nothing stored). `runtime` null: the model's only (a deployment the
 * runtime does not run, changed only in what it stores).
 */
export function parseWithRuntime(
  body: Record<string, unknown>,
  runtime: PodRuntime | null,
): Deployment {
  const extra = runtime?.validate?.(body) ?? [];
  let d: Deployment;
  try {
    d = parseDeployment(body);
  } catch (err) {
    if (err instanceof DeploymentError) throw new DeploymentError([...err.problems, ...extra]);
    throw err;
  }
  if (extra.length > 0) throw new DeploymentError(extra);
  return d;
}

async function list(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const ns = ctx.query.get("namespace") ?? undefined;
  if (ns !== undefined) requireLabel("namespace", ns);
  sendOk(ctx.res, await clusterOf(ctx, deps).deployments.list(ns));
}

async function getOne(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  sendOk(ctx.res, await clusterOf(ctx, deps).deployments.get(ns, name));
}

async function remove(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const cluster = clusterOf(ctx, deps);
  const d = await cluster.deployments.delete(ns, name);
  deps.log.info("deployment deleted", { cluster: d.cluster, deployment: `${ns}/${name}` });
  await deps.runtime.remove(ns, name, d);
  await new RevisionHistory(cluster.store).deleteAll(ns, name);
  sendOk(ctx.res, d);
}

async function manifest(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const d = await clusterOf(ctx, deps).deployments.get(ns, name);
  if (!d.image)
    throw badRequest(`deployment ${ns}/${name} has no image; a Kubernetes manifest needs one`);
  const objects = toManifest(d, {
    serverAddr: deps.serverAddr(),
    secret: deps.secret,
    portRange: deps.portRange,
    domeizeImage: deps.domeizeImage,
  });
  const format = ctx.query.get("format") ?? "yaml";
  if (format === "json") return sendOk(ctx.res, objects);
  if (format !== "yaml") throw badRequest(`format ${JSON.stringify(format)} must be yaml or json`);
  sendText(
    ctx.res,
    200,
    objects.map((o) => toYaml(o)).join("---\n"),
    "application/yaml; charset=utf-8",
  );
}

export function names(ctx: RequestContext): { ns: string; name: string } {
  return {
    ns: requireLabel("namespace", ctx.params.ns!),
    name: requireLabel("deployment name", ctx.params.name!),
  };
}
