// Changing a running deployment (admin token):
//   PATCH /api/deployments/{ns}/{name}           any field; a pod-template change is a rollout
//   GET   /api/deployments/{ns}/{name}/history   revisions (spec, when, by, cause)
//   POST  /api/deployments/{ns}/{name}/rollback  {"toRevision": N} (default: the previous one)
//   GET   /api/deployments/{ns}/{name}/rollout   progress of the latest rollout
// A change is validated as a create is (all problems at once, 400, nothing
// changed), including room in the port range for the surge pods. The
// `X-DomeOS-User` header (the CLI sends $USER) is recorded as who asked.
import type { Cluster } from "../cluster/registry.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { badRequest, conflict, notFound } from "../http/errors.js";
import { sendOk } from "../http/respond.js";
import type { RequestContext } from "../http/router.js";
import { applyBeforeStore, reapplyStored } from "./cluster-first.js";
import { capacityProblem, templateProblems } from "./create-checks.js";
import {
  DEFAULT_REVISION_HISTORY_LIMIT,
  DEFAULT_STRATEGY,
  type Deployment,
  DeploymentError,
} from "./model.js";
import { listDeploymentPods } from "./observe-routes.js";
import { changedTemplateFields, POD_TEMPLATE_FIELDS, podTemplateOf } from "./pod-template.js";
import { RevisionHistory, specOf } from "./rollout-store.js";
import type { RevisionRecord, RolloutStatus } from "./rollout-types.js";
import {
  clusterOf,
  type DeployDeps,
  deployContext,
  names,
  parseWithRuntime,
  singleHostDeployments,
} from "./routes.js";
import { isSelfRolling, rollsHere } from "./runtime.js";

/** Fields a client may not set: the server keeps them. */
const SERVER_FIELDS = ["revision", "createdAt", "updatedAt"];
const MAX_BY = 128;

export async function updateDeployment(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimit), "deployment change");
  const cluster = clusterOf(ctx, deps, body);
  const current = await cluster.deployments.get(ns, name);
  const problems: string[] = [];
  for (const f of ["name", "namespace", "cluster"] as const) {
    if (body[f] !== undefined && body[f] !== current[f])
      problems.push(
        `${f} cannot be changed (${JSON.stringify(current[f])} -> ${JSON.stringify(body[f])}): create another deployment`,
      );
  }
  for (const f of SERVER_FIELDS)
    if (f in body) problems.push(`${f} is set by the server and cannot be changed`);
  if (problems.length > 0) throw new DeploymentError(problems);
  // a top-level field replaces the stored one; null removes an optional one
  const merged: Record<string, unknown> = { ...current, ...body, cluster: cluster.name };
  for (const [k, v] of Object.entries(body)) if (v === null) delete merged[k];
  // a deployment this runtime does not run (another runtime's) may still be rescaled or edited in the store
  const touchesPods = POD_TEMPLATE_FIELDS.some((f) => f in body);
  const runs = deps.runtime.owns?.(current) ?? true;
  const next = parseWithRuntime(merged, runs || touchesPods ? deps.runtime : null);
  const stored = await applyChange(ctx, deps, cluster, current, next, "update");
  sendOk(ctx.res, stored);
}

export async function rollbackDeployment(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const raw = await readBody(ctx.req, deps.bodyLimit);
  const body = raw.length === 0 ? {} : parseJsonObject(raw, "rollback request");
  const cluster = clusterOf(ctx, deps, body);
  const extra = Object.keys(body).filter((k) => k !== "toRevision" && k !== "cluster");
  if (extra.length > 0)
    throw badRequest(`rollback: unknown field ${JSON.stringify(extra[0])} (toRevision)`);
  const to = body.toRevision;
  if (to !== undefined && (typeof to !== "number" || !Number.isInteger(to) || to < 1))
    throw badRequest(`toRevision ${JSON.stringify(to)} must be a revision number (1, 2, ...)`);
  const current = await cluster.deployments.get(ns, name);
  const records = await revisionsOf(deps, cluster, current);
  const now = currentRevision(current, records);
  const target =
    to === undefined
      ? [...records].reverse().find((r) => r.revision < now)
      : records.find((r) => r.revision === to);
  if (!target) {
    const kept = records.map((r) => r.revision).join(", ") || "none";
    throw notFound(
      to === undefined
        ? `deployment ${ns}/${name} has no revision before ${now} to roll back to (kept: ${kept})`
        : `deployment ${ns}/${name} has no revision ${to} (kept: ${kept})`,
    );
  }
  const merged: Record<string, unknown> = { ...current, ...podTemplateOf(target.spec) };
  for (const f of POD_TEMPLATE_FIELDS) if (target.spec[f] === undefined) delete merged[f];
  const next = parseWithRuntime(merged, deps.runtime);
  if (changedTemplateFields(current, next).length === 0)
    throw badRequest(
      `nothing to roll back: revision ${target.revision} runs the same pod template as the deployment now (revision ${now})`,
    );
  const stored = await applyChange(
    ctx,
    deps,
    cluster,
    current,
    next,
    `rollback to ${target.revision}`,
  );
  sendOk(ctx.res, stored);
}

export async function deploymentHistory(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const cluster = clusterOf(ctx, deps);
  const d = await cluster.deployments.get(ns, name);
  sendOk(ctx.res, await revisionsOf(deps, cluster, d));
}

export async function rolloutStatus(ctx: RequestContext, deps: DeployDeps): Promise<void> {
  const { ns, name } = names(ctx);
  const cluster = clusterOf(ctx, deps);
  const d = await cluster.deployments.get(ns, name);
  if (isSelfRolling(deps.runtime)) return sendOk(ctx.res, await deps.runtime.rolloutStatus(d));
  sendOk(ctx.res, await storedRolloutStatus(cluster, d));
}

/** The revisions of a deployment: the runtime's (Kubernetes' ReplicaSets) or the stored ones. */
async function revisionsOf(
  deps: DeployDeps,
  cluster: Cluster,
  d: Deployment,
): Promise<RevisionRecord[]> {
  if (isSelfRolling(deps.runtime)) return deps.runtime.revisions(d);
  const records = await new RevisionHistory(cluster.store).list(d.namespace, d.name);
  // a deployment stored before histories existed: its one revision is what it runs
  return records.length > 0 ? records : [firstRecord(d)];
}

function currentRevision(d: Deployment, records: RevisionRecord[]): number {
  return d.revision ?? Math.max(1, ...records.map((r) => r.revision));
}

function firstRecord(d: Deployment): RevisionRecord {
  return {
    revision: d.revision ?? 1,
    spec: specOf(d),
    createdAt: d.createdAt ?? new Date().toISOString(),
    cause: "create",
  };
}

/**
 * Store `next` in place of `current`: a new revision in the history when the
 * pod template changed, a rollout record, then the runtime is told (a
 * self-rolling runtime first: cluster-first.ts). Checks
 * what depends on the rest of the cluster first (templates, port capacity
 * for the surge pods); nothing is written when one fails.
 */
async function applyChange(
  ctx: RequestContext,
  deps: DeployDeps,
  cluster: Cluster,
  current: Deployment,
  next: Deployment,
  cause: string,
): Promise<Deployment> {
  const changed = changedTemplateFields(current, next);
  const problems = changed.includes("templates") ? await templateProblems(next) : [];
  const capacity = await surgeCapacityProblem(deps, cluster, current, next, changed.length > 0);
  if (capacity) problems.push(capacity);
  if (problems.length > 0) throw new DeploymentError(problems);
  const history = new RevisionHistory(cluster.store);
  const { namespace: ns, name } = current;
  const record = await history.rollout(ns, name);
  const revision = (current.revision ?? 1) + (changed.length > 0 ? 1 : 0);
  const now = new Date().toISOString();
  const by = whoAsked(ctx);
  const why = cause === "update" ? `update: ${changed.join(", ")}` : cause;
  const change = changed.length > 0 ? { cause: why, at: now, ...(by ? { by } : {}) } : undefined;
  // a runtime that holds what runs takes the change first: a refused apply changes nothing here
  const clusterFirst = isSelfRolling(deps.runtime);
  const target = { ...next, revision, createdAt: current.createdAt };
  if (clusterFirst) await applyBeforeStore(deps, target, current, change);
  // the deployment before its history: a change refused as concurrent leaves no revision behind
  let stored: Deployment;
  try {
    stored = await cluster.deployments.update(ns, name, (d) => {
      if (d.updatedAt !== current.updatedAt)
        throw conflict(`deployment ${ns}/${name} changed meanwhile; read it again and retry`);
      return { ...target, createdAt: d.createdAt };
    });
  } catch (err) {
    if (clusterFirst) await reapplyStored(deps, cluster, ns, name);
    throw err;
  }
  if (changed.length > 0) {
    const limit = next.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    if (current.revision === undefined && !(await history.get(ns, name, 1)))
      await history.add(ns, name, firstRecord(current), limit);
    await history.add(
      ns,
      name,
      { revision, spec: specOf(next), createdAt: now, ...(by ? { by } : {}), cause: why },
      limit,
    );
  }
  // a rollout starts with a template change; any change retries a Failed one
  if (changed.length > 0 || record?.phase === "Failed" || !record) {
    const runs = rollsHere(deps.runtime, stored) || isSelfRolling(deps.runtime);
    await history.setRollout(ns, name, {
      revision,
      phase: runs ? "Progressing" : "Complete",
      startedAt: now,
      ...(runs ? {} : { finishedAt: now }),
    });
  }
  deps.log.info(changed.length > 0 ? "deployment rollout started" : "deployment changed", {
    cluster: cluster.name,
    deployment: `${ns}/${name}`,
    revision,
    replicas: stored.replicas,
    changed: changed.join(",") || "-",
    cause,
    ...(by ? { by } : {}),
  });
  if (!clusterFirst) await deps.runtime.ensure(stored, { ...deployContext(stored, deps), change });
  return stored;
}

/**
 * Port-range room for the deployment at its peak: during a rollout
 * replicas + maxSurge pods, each with the larger of the old and new port
 * counts (old pods hold their ports until they are gone).
 */
async function surgeCapacityProblem(
  deps: DeployDeps,
  cluster: Cluster,
  current: Deployment,
  next: Deployment,
  rolling: boolean,
): Promise<string | null> {
  if (!deps.portRange) return null;
  const surge = rolling ? (next.strategy ?? DEFAULT_STRATEGY).maxSurge : 0;
  const peak: Deployment = {
    ...next,
    replicas: next.replicas + surge,
    ports: rolling ? Math.max(current.ports, next.ports) : next.ports,
  };
  const singleHost = deps.runtime.name === "process";
  const others = singleHost ? await singleHostDeployments(cluster) : [];
  const p = capacityProblem(peak, deps.portRange, singleHost, others);
  if (!p || surge === 0) return p;
  return `${p}; a rollout runs ${surge} surge pod${surge === 1 ? "" : "s"} beside the ${next.replicas} old ones until they are replaced (lower strategy.maxSurge and raise strategy.maxUnavailable, or widen the range)`;
}

/** Who asked (X-DomeOS-User, as the client says; informational, the admin token is the authority). */
export function whoAsked(ctx: RequestContext): string | undefined {
  const h = ctx.req.headers["x-domeos-user"];
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  return v.replace(/[^\x20-\x7e]/g, "").slice(0, MAX_BY) || undefined;
}

/** Progress of the latest rollout from its stored record and the pods as stored now. */
async function storedRolloutStatus(cluster: Cluster, d: Deployment): Promise<RolloutStatus> {
  const [record, pods] = await Promise.all([
    new RevisionHistory(cluster.store).rollout(d.namespace, d.name),
    listDeploymentPods(cluster.store, d.namespace, d.name),
  ]);
  const revision = d.revision ?? 1;
  const mine = (p: { revision: string }) =>
    p.revision === String(revision) || (p.revision === "" && revision === 1);
  const updated = pods.filter((p) => mine(p) && !p.terminating);
  const status: RolloutStatus = {
    revision,
    phase: record?.revision === revision ? record.phase : "Progressing",
    desired: d.replicas,
    updated: updated.length,
    ready: updated.filter((p) => p.ready).length,
    available: pods.filter((p) => p.ready).length,
    oldPods: pods.filter((p) => !mine(p)).length,
  };
  if (!record && status.ready === d.replicas && status.oldPods === 0) status.phase = "Complete";
  if (record?.revision === revision) {
    if (record.reason) status.reason = record.reason;
    status.startedAt = record.startedAt;
    if (record.finishedAt) status.finishedAt = record.finishedAt;
  }
  return status;
}
