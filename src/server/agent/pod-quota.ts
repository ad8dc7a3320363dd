// How many ports a pod may hold in the ledger, all containers together:
// what its spec declares (the NEED_PORTS of its containers), else its
// deployment's port count, else the configured default.
import type { Cluster } from "../cluster/registry.js";
import type { PodFacts } from "./pod-object.js";

export interface QuotaSettings {
  /** The quota of pods whose spec and deployment declare no port count. */
  defaultQuota: number;
}

export async function podQuota(
  cluster: Cluster,
  ns: string,
  facts: PodFacts,
  s: QuotaSettings,
): Promise<number> {
  if (facts.declaredPorts !== undefined) return facts.declaredPorts;
  if (facts.deployName) {
    const d = await cluster.deployments.find(ns, facts.deployName);
    if (d && d.ports > 0) return d.ports;
  }
  return s.defaultQuota;
}
