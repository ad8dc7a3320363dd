// Hosts the server knows in a cluster: the status.hostIP of its pods (and
// the hosts an operator configured). A pod without a hostIP may name only
// one of these in a ports request, so it cannot block an arbitrary
// address's range. The pod scan is cached for a few seconds; it only runs
// for requests of pods without a hostIP.
import type { Store } from "../../store/store.js";
import { podFacts } from "./pod-object.js";

const PODS_PREFIX = "/registry/pods/";

export class KnownHosts {
  private readonly scans = new Map<Store, { at: number; hosts: Promise<Set<string>> }>();

  constructor(
    private readonly configured: readonly string[],
    private readonly ttlMs = 5_000,
  ) {}

  async has(store: Store, host: string): Promise<boolean> {
    if (this.configured.includes(host)) return true;
    return (await this.scan(store)).has(host);
  }

  private scan(store: Store): Promise<Set<string>> {
    const hit = this.scans.get(store);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.hosts;
    const hosts = store.list(PODS_PREFIX).then((r) => {
      const out = new Set<string>();
      for (const kv of r.kvs) {
        const ip = podFacts(kv.value).hostIP;
        if (ip) out.add(ip);
      }
      return out;
    });
    this.scans.set(store, { at: Date.now(), hosts });
    hosts.catch(() => this.scans.delete(store));
    return hosts;
  }
}
