// A self-rolling runtime (Kubernetes) holds what runs, and the apiserver may
// refuse an apply the server's own checks let through (an admission webhook,
// a quota, RBAC, a validation the server does not repeat). The store must
// never be ahead of the cluster: a change is applied to the cluster before
// it is stored, and a create that the cluster refuses is taken back.
//
// What each failure leaves (docs/kubernetes.md, "When the apiserver refuses"):
//   refused (the apiserver answered 4xx)  the error is the answer; the store
//       is unchanged and so is the Deployment (the token Secret, applied
//       first, is the same for every revision)
//   unknown (timeout, connection lost, 5xx: the apply may have landed)  the
//       error is the answer, the store is unchanged, and what the store holds
//       is applied again (best effort) so the cluster converges back to it
//   lost to a concurrent change (the store's compare-and-swap failed after
//       the apply)  409, and the deployment the other change stored is
//       applied again, so the last apply is the stored one
import { StoreUnavailableError } from "../../store/store.js";
import type { Cluster } from "../cluster/registry.js";
import type { Logger } from "../log/logger.js";
import type { ChangeRecord } from "./manifest-rollout.js";
import type { Deployment } from "./model.js";
import { RevisionHistory } from "./rollout-store.js";
import { type DeployDeps, deployContext } from "./routes.js";

type ApplyDeps = Pick<
  DeployDeps,
  "runtime" | "secret" | "serverAddr" | "portRange" | "domeizeImage" | "log"
>;

/**
 * Apply `target` (what is about to be stored in place of `current`). Throws
 * the runtime's error; when the outcome is unknown, `current` is applied
 * again first.
 */
export async function applyBeforeStore(
  deps: ApplyDeps,
  target: Deployment,
  current: Deployment,
  change?: ChangeRecord,
): Promise<void> {
  try {
    await deps.runtime.ensure(target, { ...deployContext(target, deps), change });
  } catch (err) {
    if (err instanceof StoreUnavailableError)
      await reapply(deps, current, "the apply's outcome is unknown");
    throw err;
  }
}

/** After the store refused the change as concurrent: the cluster runs what the other change stored. */
export async function reapplyStored(
  deps: ApplyDeps,
  cluster: Cluster,
  ns: string,
  name: string,
): Promise<void> {
  const winner = await cluster.deployments.find(ns, name).catch(() => null);
  if (winner) await reapply(deps, winner, "a concurrent change was stored instead");
}

/**
 * A create the cluster did not take: the deployment and its history are
 * removed again (unless changed meanwhile: then that change's apply stands).
 */
export async function undoCreate(cluster: Cluster, d: Deployment, log: Logger): Promise<void> {
  try {
    if (await cluster.deployments.deleteIfUnchanged(d))
      await new RevisionHistory(cluster.store).deleteAll(d.namespace, d.name);
  } catch (err) {
    log.warn("deployment create refused by the runtime, and taking it back failed", {
      deployment: `${d.namespace}/${d.name}`,
      error: (err as Error).message,
    });
  }
}

async function reapply(deps: ApplyDeps, d: Deployment, why: string): Promise<void> {
  try {
    await deps.runtime.ensure(d, deployContext(d, deps));
    deps.log.info("stored deployment applied again", {
      deployment: `${d.namespace}/${d.name}`,
      why,
    });
  } catch (err) {
    deps.log.warn("stored deployment could not be applied again; the next change applies it", {
      deployment: `${d.namespace}/${d.name}`,
      why,
      error: (err as Error).message,
    });
  }
}
