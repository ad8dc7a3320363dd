// Which ports a pod holds in the ledger (all its containers), for checking
// reports. A positive answer is reused for a few seconds so that repeated
// reports of the same ports cost no store read; the ledger forgets a pod's
// entry whenever this process changes its assignments, and a port not in
// the cached set is always checked against the store.
import type { Store } from "../../store/store.js";
import { parseAssignment, podAssignmentPrefix } from "./keys.js";

interface Entry {
  ports: Set<number>;
  at: number;
}

const MAX_ENTRIES = 10_000;

export class HeldPorts {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
  ) {}

  /** The pod's ports (all containers), from the cache when fresh enough. */
  async of(namespace: string, pod: string, fresh = false): Promise<Set<number>> {
    const key = podAssignmentPrefix(namespace, pod);
    const hit = this.cache.get(key);
    if (!fresh && hit && Date.now() - hit.at < this.ttlMs) return hit.ports;
    const ports = new Set<number>();
    for (const kv of (await this.store.list(key)).kvs) {
      for (const p of parseAssignment(kv.value)?.ports ?? []) ports.add(p);
    }
    this.cache.delete(key);
    if (this.cache.size >= MAX_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { ports, at: Date.now() });
    return ports;
  }

  forget(namespace: string, pod: string): void {
    this.cache.delete(podAssignmentPrefix(namespace, pod));
  }
}
