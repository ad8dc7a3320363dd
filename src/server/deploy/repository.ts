// Deployments in the cluster's store under /domeos/deployments/{ns}/{name},
// written with compare-and-swap so concurrent admins never overwrite each
// other silently.
import type { Store } from "../../store/store.js";
import { conflict, HttpError, notFound } from "../http/errors.js";
import { type Deployment, parseDeployment } from "./model.js";

export const DEPLOYMENT_PREFIX = "/domeos/deployments/";
export const deploymentKey = (ns: string, name: string) => `${DEPLOYMENT_PREFIX}${ns}/${name}`;

/**
 * The deployments of one cluster. A deployment read from a cluster's store
 * is that cluster's, whatever its "cluster" field says (an older server could
 * store one under the wrong cluster): the runtime then acts on the pods of
 * the cluster the request named, never on another's.
 */
export class DeploymentRepository {
  constructor(
    private readonly store: Store,
    readonly cluster: string,
  ) {}

  async create(d: Deployment): Promise<Deployment> {
    const now = new Date().toISOString();
    const stored = { ...d, cluster: this.cluster, createdAt: now, updatedAt: now };
    const r = await this.store.put(deploymentKey(d.namespace, d.name), JSON.stringify(stored), {
      expectModRevision: 0,
    });
    if (!r.ok)
      throw conflict(
        `deployment ${d.namespace}/${d.name} already exists in cluster ${this.cluster}`,
      );
    return stored;
  }

  async get(ns: string, name: string): Promise<Deployment> {
    const kv = await this.store.get(deploymentKey(ns, name));
    if (!kv) throw notFound(`deployment ${ns}/${name} not found`);
    return this.decode(kv.value, kv.key);
  }

  /** The deployment, or null when there is none. */
  async find(ns: string, name: string): Promise<Deployment | null> {
    const kv = await this.store.get(deploymentKey(ns, name));
    return kv ? this.decode(kv.value, kv.key) : null;
  }

  async list(ns?: string): Promise<Deployment[]> {
    const r = await this.store.list(ns ? `${DEPLOYMENT_PREFIX}${ns}/` : DEPLOYMENT_PREFIX);
    return r.kvs.map((kv) => this.decode(kv.value, kv.key));
  }

  /** Apply `change` to the stored deployment with compare-and-swap retries. */
  async update(
    ns: string,
    name: string,
    change: (d: Deployment) => Deployment,
  ): Promise<Deployment> {
    const key = deploymentKey(ns, name);
    for (let i = 0; i < 50; i++) {
      const kv = await this.store.get(key);
      if (!kv) throw notFound(`deployment ${ns}/${name} not found`);
      const next = {
        ...change(this.decode(kv.value, key)),
        cluster: this.cluster,
        updatedAt: new Date().toISOString(),
      };
      const r = await this.store.put(key, JSON.stringify(next), {
        expectModRevision: kv.modRevision,
      });
      if (r.ok) return next;
    }
    throw new HttpError(503, `deployment ${ns}/${name} kept changing concurrently; retry`);
  }

  /** Delete `d` only if the stored deployment is still it (same updatedAt); whether it was deleted. */
  async deleteIfUnchanged(d: Deployment): Promise<boolean> {
    const key = deploymentKey(d.namespace, d.name);
    const kv = await this.store.get(key);
    if (!kv || this.decode(kv.value, key).updatedAt !== d.updatedAt) return false;
    return (await this.store.delete(key, { expectModRevision: kv.modRevision })).ok;
  }

  async delete(ns: string, name: string): Promise<Deployment> {
    const d = await this.get(ns, name);
    await this.store.delete(deploymentKey(ns, name));
    return d;
  }

  private decode(value: string, key: string): Deployment {
    let d: Deployment;
    try {
      d = parseDeployment(JSON.parse(value));
    } catch (err) {
      throw new HttpError(
        500,
        `stored deployment at ${key} is unreadable: ${(err as Error).message}`,
      );
    }
    return { ...d, cluster: this.cluster };
  }
}
