// The per-host port ledger: hands out distinct ports in a range to pods,
// idempotently, with create-if-absent records so that any number of server
// replicas sharing the store never hand out the same port twice.
import type { KeyValue, Store } from "../../store/store.js";
import type { PortRange } from "../agent/annotation-policy.js";
import { conflict, HttpError } from "../http/errors.js";
import {
  type Assignment,
  assignmentKey,
  type ExternalPortRecord,
  hostPrefix,
  ledgerKey,
  type PodPortRecord,
  parseAssignment,
  parseRecord,
  podAssignmentPrefix,
  portOfKey,
} from "./keys.js";

export interface AllocationRequest {
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  host: string;
  podUid?: string;
  count: number;
  /** Ports the agent's bind probe found in use: excluded and replaced. */
  busy: number[];
  /** The pod's previous ports: tried first (sticky restarts). */
  preferred: number[];
}

export interface LedgerOptions {
  range: PortRange;
  /** How long a port reported busy stays out of circulation. */
  externalHoldMs: number;
  onAllocated?: (host: string, n: number) => void;
}

export class PortLedger {
  /** Serialises requests for the same pod container within this process. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly snapshots = new Map<string, Promise<Map<number, string | null>>>();

  constructor(
    private readonly store: Store,
    private readonly opts: LedgerOptions,
  ) {}

  allocate(req: AllocationRequest): Promise<number[]> {
    const key = assignmentKey(req.namespace, req.pod, req.container);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(
      () => this.allocateUnlocked(req),
      () => this.allocateUnlocked(req),
    );
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  private async allocateUnlocked(req: AllocationRequest): Promise<number[]> {
    const aKey = assignmentKey(req.namespace, req.pod, req.container);
    for (let attempt = 0; attempt < 20; attempt++) {
      const aKv = await this.store.get(aKey);
      const current = aKv ? parseAssignment(aKv.value) : null;
      if (current && current.host !== req.host) {
        // The pod name now runs on another host: the old ports are not its any more.
        await this.releasePorts(current.host, current.ports, req, aKey);
        continue;
      }
      const busy = new Set(req.busy);
      const kept = current ? current.ports.slice(0, req.count) : [];
      const stale = kept.filter((p) => busy.has(p));
      if (
        current &&
        stale.length === 0 &&
        kept.length === req.count &&
        current.ports.length === req.count
      ) {
        return kept;
      }
      await this.markExternal(req, [...busy], current?.ports ?? []);
      const fresh = await this.takePorts(
        req,
        req.count - (kept.length - stale.length),
        new Set(kept),
      );
      const ports = mergePorts(kept, busy, fresh, req.count);
      const assignment: Assignment = {
        cluster: req.cluster,
        host: req.host,
        ports,
        podUid: req.podUid,
        allocatedAt: new Date().toISOString(),
      };
      const w = await this.store.put(aKey, JSON.stringify(assignment), {
        expectModRevision: aKv ? aKv.modRevision : 0,
      });
      if (w.ok) {
        const dropped = (current?.ports ?? []).filter((p) => !ports.includes(p) && !busy.has(p));
        await this.releasePorts(req.host, dropped, req, null);
        this.opts.onAllocated?.(req.host, fresh.length);
        return ports;
      }
      // Another replica assigned this container meanwhile: undo ours, take theirs.
      await this.releasePorts(req.host, fresh, req, null);
    }
    throw new HttpError(503, `port assignment ${aKey} kept changing concurrently; retry`);
  }

  /** Create ledger records for `need` free ports (preferred first, then random). */
  private async takePorts(
    req: AllocationRequest,
    need: number,
    exclude: Set<number>,
  ): Promise<number[]> {
    if (need <= 0) return [];
    const { min, max } = this.opts.range;
    const taken = await this.snapshot(req.host);
    const busy = new Set(req.busy);
    const usable = (p: number) => !taken.has(p) && !exclude.has(p) && !busy.has(p);
    const candidates = [
      ...req.preferred.filter((p) => p >= min && p <= max),
      ...shuffled(min, max),
    ];
    const record: PodPortRecord = {
      kind: "pod",
      cluster: req.cluster,
      namespace: req.namespace,
      pod: req.pod,
      container: req.container,
      allocatedAt: new Date().toISOString(),
    };
    const value = JSON.stringify(record);
    const got: number[] = [];
    let next = 0;
    while (got.length < need && next < candidates.length) {
      // Try as many ports at once as are still missing (in parallel).
      const batch: number[] = [];
      while (batch.length < need - got.length && next < candidates.length) {
        const port = candidates[next++]!;
        if (!usable(port)) continue;
        // Claim it in the shared snapshot first so concurrent callers skip it;
        // the create-if-absent write is what actually decides.
        taken.set(port, null);
        batch.push(port);
      }
      const results = await Promise.all(
        batch.map((port) =>
          this.store.put(ledgerKey(req.host, port), value, { expectModRevision: 0 }),
        ),
      );
      // Keep the preference order: preferred ports first, as tried.
      batch.forEach((port, i) => {
        if (results[i]!.ok) got.push(port);
      });
    }
    if (got.length < need) {
      await this.releasePorts(req.host, got, req, null);
      throw conflict(
        `no free port on host ${req.host}: ${need} needed, range ${min}-${max} exhausted`,
      );
    }
    return got;
  }

  /**
   * Taken ports of a host. Callers arriving while a list is in flight share
   * it (one list per burst instead of one per request); the map (port -> record,
   * null = claimed by a request in flight) is mutable and shared, so their claims are visible to each other.
   */
  private snapshot(host: string): Promise<Map<number, string | null>> {
    const existing = this.snapshots.get(host);
    if (existing) return existing;
    const p = this.store
      .list(hostPrefix(host))
      .then((r) => new Map(r.kvs.map((kv) => [portOfKey(kv.key), kv.value] as const)));
    this.snapshots.set(host, p);
    const drop = () => {
      if (this.snapshots.get(host) === p) this.snapshots.delete(host);
    };
    p.then(drop, drop);
    return p;
  }

  /**
   * Record busy ports as external. Ports held by other pods stay theirs (the
   * agent sees their apps bound); this pod's own busy ports become external.
   */
  private async markExternal(req: AllocationRequest, busy: number[], own: number[]): Promise<void> {
    const { min, max } = this.opts.range;
    const ext: ExternalPortRecord = {
      kind: "external",
      reportedBy: `${req.namespace}/${req.pod}`,
      until: new Date(Date.now() + this.opts.externalHoldMs).toISOString(),
    };
    const value = JSON.stringify(ext);
    const snap = await this.snapshot(req.host);
    for (const port of busy) {
      if (port < min || port > max) continue;
      const key = ledgerKey(req.host, port);
      if (own.includes(port)) {
        const kv = await this.store.get(key);
        if (kv && ownedBy(kv, req))
          await this.store.put(key, value, { expectModRevision: kv.modRevision });
        continue;
      }
      if (snap.has(port)) continue;
      snap.set(port, null);
      await this.store.put(key, value, { expectModRevision: 0 });
    }
  }

  /** Delete ledger records of `ports` on `host` still owned by the pod container; then the assignment. */
  private async releasePorts(
    host: string,
    ports: number[],
    owner: { namespace: string; pod: string; container: string },
    assignment: string | null,
  ): Promise<void> {
    for (const port of ports) {
      const key = ledgerKey(host, port);
      const kv = await this.store.get(key);
      if (kv && ownedBy(kv, owner))
        await this.store.delete(key, { expectModRevision: kv.modRevision });
    }
    if (assignment) await this.store.delete(assignment);
  }

  /** Free every port of a pod (all containers). Returns the number of ports freed. */
  async freePod(namespace: string, pod: string): Promise<number> {
    let freed = 0;
    for (const kv of (await this.store.list(podAssignmentPrefix(namespace, pod))).kvs) {
      const a = parseAssignment(kv.value);
      const container = kv.key.slice(kv.key.lastIndexOf("/") + 1);
      if (a) {
        const owner = { namespace, pod, container: container === "_" ? "" : container };
        await this.releasePorts(a.host, a.ports, owner, null);
        freed += a.ports.length;
      }
      await this.store.delete(kv.key, { expectModRevision: kv.modRevision });
    }
    return freed;
  }
}

function ownedBy(kv: KeyValue, o: { namespace: string; pod: string; container: string }): boolean {
  const r = parseRecord(kv.value);
  return (
    r?.kind === "pod" &&
    r.namespace === o.namespace &&
    r.pod === o.pod &&
    r.container === o.container
  );
}

/** Keep the kept ports at their index (AUTO_PORTn stays stable); fill busy/missing slots with fresh ones. */
function mergePorts(kept: number[], busy: Set<number>, fresh: number[], count: number): number[] {
  const out: number[] = [];
  let f = 0;
  for (let i = 0; i < count; i++) {
    const k = kept[i];
    out.push(k !== undefined && !busy.has(k) ? k : fresh[f++]!);
  }
  return out;
}

/** The ports of [min, max] in random order (random spreads concurrent allocators apart). */
function shuffled(min: number, max: number): number[] {
  const free: number[] = [];
  for (let p = min; p <= max; p++) free.push(p);
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  return free;
}
