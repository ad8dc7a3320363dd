// Admin API for host-mode deployments (bearer admin token):
//   POST   /api/deployments                      create (body: deployment)
//   GET    /api/deployments[?namespace=]         list
//   GET    /api/deployments/{ns}/{name}          one
//   PATCH  /api/deployments/{ns}/{name}          scale (body: {"replicas": n})
//   DELETE /api/deployments/{ns}/{name}          delete
//   GET    /api/deployments/{ns}/{name}/manifest Kubernetes objects (?format=yaml|json)
// Every route takes ?cluster= (default "default").
import { stringify as toYaml } from "yaml";
import type { PortRange } from "../agent/annotation-policy.js";
import { requireAdmin } from "../auth/admin.js";
import { mintDeploymentToken, mintPodToken } from "../auth/pod-token.js";
import type { ClusterRegistry } from "../cluster/registry.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { badRequest } from "../http/errors.js";
import { requireClusterName, requireLabel } from "../http/names.js";
import { sendEnvelope, sendOk, sendText } from "../http/respond.js";
import type { RequestContext, Router } from "../http/router.js";
import type { Logger } from "../log/logger.js";
import { toManifest } from "./manifest.js";
import { type Deployment, DeploymentError, MAX_REPLICAS, parseDeployment } from "./model.js";
import type { DeployContext, PodRuntime } from "./runtime.js";

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
    "deploy_scale",
    admin((c) => scale(c, deps)),
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

function clusterOf(ctx: RequestContext, deps: DeployDeps, fromBody?: string) {
  const name = ctx.query.get("cluster") ?? fromBody ?? "default";
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
    podToken: (pod) => mintPodToken(deps.secret, d.cluster, d.namespace, pod),
    deploymentToken: mintDeploymentToken(deps.secret, d.cluster, d.namespace, d.name),
  };
}

async function create(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit), "deployment");
  const qc = ctx.query.get("cluster");
  if (qc && body.cluster === undefined) body.cluster = qc;
  const d = parseWithRuntime(body, deps.runtime);
  const cluster = clusterOf(ctx, deps, d.cluster);
  const stored = await cluster.deployments.create(d);
  deps.log.info("deployment created", {
    cluster: d.cluster,
    deployment: `${d.namespace}/${d.name}`,
    replicas: d.replicas,
  });
  await deps.runtime.ensure(stored, deployContext(stored, deps));
  sendEnvelope(ctx.res, 201, "Created", stored);
}

/** The model's problems and the runtime's, reported together (HTTP 400, nothing stored). */
function parseWithRuntime(body: Record<string, unknown>, runtime: PodRuntime): Deployment {
  const extra = runtime.validate?.(body) ?? [];
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

async function scale(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit), "scale request");
  const extra = Object.keys(body).filter((k) => k !== "replicas");
  if (extra.length > 0) {
    throw badRequest(
      `only "replicas" can be changed (got ${extra.join(", ")}); delete and re-create to change anything else`,
    );
  }
  const r = body.replicas;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r > MAX_REPLICAS) {
    throw badRequest(`replicas ${JSON.stringify(r)} must be an integer from 0 to ${MAX_REPLICAS}`);
  }
  const updated = await clusterOf(ctx, deps).deployments.update(ns, name, (d) => ({
    ...d,
    replicas: r,
  }));
  deps.log.info("deployment scaled", { deployment: `${ns}/${name}`, replicas: r });
  await deps.runtime.ensure(updated, deployContext(updated, deps));
  sendOk(ctx.res, updated);
}

async function remove(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const d = await clusterOf(ctx, deps).deployments.delete(ns, name);
  deps.log.info("deployment deleted", { deployment: `${ns}/${name}` });
  await deps.runtime.remove(ns, name, d);
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

function names(ctx: RequestContext): { ns: string; name: string } {
  return {
    ns: requireLabel("namespace", ctx.params.ns!),
    name: requireLabel("deployment name", ctx.params.name!),
  };
}
