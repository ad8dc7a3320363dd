// The per-host port ledger: hands out distinct ports in a range to pods,
// idempotently, with create-if-absent records so that any number of server
// replicas sharing the store never hand out the same port twice.
import type { KeyValue, Store } from "../../store/store.js";
import type { PortRange } from "../agent/annotation-policy.js";
import { conflict, HttpError } from "../http/errors.js";
import { HeldPorts } from "./held.js";
import {
  type Assignment,
  assignmentKey,
  type ExternalPortRecord,
  hostPrefix,
  ledgerKey,
  type PodPortRecord,
  type PortRecord,
  parseAssignment,
  parseRecord,
  podAssignmentPrefix,
  portOfKey,
  quotaKey,
} from "./keys.js";
import { reserveQuota } from "./quota.js";

export interface AllocationRequest extends PodOwner {
  cluster: string;
  host: string;
  podUid?: string;
  count: number;
  /** Ports the agent's bind probe found in use: excluded and replaced. */
  busy: number[];
  /** The pod's previous ports: tried first (sticky restarts). */
  preferred: number[];
  /** Most ports the pod may hold, all containers together (docs/ports-ledger.md, quotas). */
  quota: number;
}

/** A pod's container (container "" = the main one). */
export interface PodOwner {
  namespace: string;
  pod: string;
  container: string;
}

export interface LedgerOptions {
  range: PortRange;
  /** How long a port reported busy stays out of circulation. */
  externalHoldMs: number;
  /** How long a positive "this pod holds these ports" answer is reused (report checks). */
  heldCacheMs?: number;
  onAllocated?: (host: string, n: number) => void;
}

export class PortLedger {
  /** Serialises ledger writes for the same pod (all its containers) within this process. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly snapshots = new Map<string, Promise<Map<number, string | null>>>();
  readonly held: HeldPorts;

  constructor(
    private readonly store: Store,
    private readonly opts: LedgerOptions,
  ) {
    this.held = new HeldPorts(store, opts.heldCacheMs ?? 10_000);
  }

  allocate(req: AllocationRequest): Promise<number[]> {
    return this.underPodLock(req.namespace, req.pod, () => this.allocateUnlocked(req));
  }

  /** Run `fn` after every earlier ledger write of the same pod in this process. */
  underPodLock<T>(namespace: string, pod: string, fn: () => Promise<T>): Promise<T> {
    const key = podAssignmentPrefix(namespace, pod);
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run.finally(() => this.held.forget(namespace, pod));
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
      await reserveQuota(this.store, req, req.count);
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
        const dropped = (current?.ports ?? []).filter((p) => !ports.includes(p));
        // Only now, once the request succeeded: the pod's own busy ports become
        // external holds (bounded), the rest of what it gave up is freed.
        const held = await this.markExternal(
          req,
          dropped.filter((p) => busy.has(p)),
        );
        await this.releasePorts(
          req.host,
          dropped.filter((p) => !held.includes(p)),
          req,
          null,
        );
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
    const record = podRecord(req);
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
   * Turn this pod's own ports that its agent found bound by something outside
   * the ledger into external holds (compare-and-swap over its own records).
   * At most `quota` live holds per reporting pod and host: a pod cannot park
   * the range by reporting its ports busy again and again. Returns the ports
   * now held as external; the caller frees the others.
   */
  private async markExternal(req: AllocationRequest, ownBusy: number[]): Promise<number[]> {
    if (ownBusy.length === 0) return [];
    const reporter = `${req.namespace}/${req.pod}`;
    const now = Date.now();
    let live = 0;
    for (const kv of (await this.store.list(hostPrefix(req.host))).kvs) {
      const r = parseRecord(kv.value);
      if (r?.kind === "external" && r.reportedBy === reporter && Date.parse(r.until) > now) live++;
    }
    const ext: ExternalPortRecord = {
      kind: "external",
      reportedBy: reporter,
      until: new Date(now + this.opts.externalHoldMs).toISOString(),
    };
    const value = JSON.stringify(ext);
    const held: number[] = [];
    for (const port of ownBusy.slice(0, Math.max(0, req.quota - live))) {
      const kv = await this.store.get(ledgerKey(req.host, port));
      if (!kv || !ownedBy(kv, req)) continue;
      const w = await this.store.put(kv.key, value, { expectModRevision: kv.modRevision });
      if (w.ok) held.push(port);
    }
    return held;
  }

  /** Delete ledger records of `ports` on `host` still owned by the pod container; then the assignment. */
  private async releasePorts(
    host: string,
    ports: number[],
    owner: PodOwner,
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

  /**
   * Make the ledger hold ports an agent reported without asking for them
   * (an agent that allocated locally, an original one): each port already
   * held by this pod is accepted as is; a free one is taken for the pod's
   * container at its AUTO_PORT index (within the quota); one held by anyone
   * else is refused with 409 naming the holder. Nothing is written when a
   * port is refused.
   */
  claimReported(req: ClaimRequest): Promise<void> {
    return this.underPodLock(req.namespace, req.pod, () => this.claimUnlocked(req));
  }

  private async claimUnlocked(req: ClaimRequest): Promise<void> {
    const aKey = assignmentKey(req.namespace, req.pod, req.container);
    const aKv = await this.store.get(aKey);
    const current = aKv ? parseAssignment(aKv.value) : null;
    const before = current && current.host === req.host ? current.ports : [];
    const next = [...before];
    const take: number[] = [];
    for (const [i, port] of [...req.ports].sort((a, b) => a[0] - b[0])) {
      if (next.includes(port)) continue;
      const what = `${reportKey(i, req.container)}=${port}`;
      const kv = await this.store.get(ledgerKey(req.host, port));
      if (kv) {
        const r = parseRecord(kv.value);
        if (r?.kind === "pod" && r.namespace === req.namespace && r.pod === req.pod) continue;
        throw conflict(`${what}: port ${port} on host ${req.host} is held by ${holder(r)}`);
      }
      if (i > next.length) {
        throw conflict(
          `${what} is not a port the ledger holds for pod ${req.namespace}/${req.pod}, and ${reportKey(next.length, req.container)} comes before it; report AUTO_PORT0..N together or ask POST .../ports first`,
        );
      }
      next[i] = port;
      take.push(port);
    }
    if (take.length === 0) return;
    await reserveQuota(this.store, req, next.length);
    const record = podRecord(req);
    const taken: number[] = [];
    for (const port of take) {
      const w = await this.store.put(ledgerKey(req.host, port), JSON.stringify(record), {
        expectModRevision: 0,
      });
      if (!w.ok) {
        await this.releasePorts(req.host, taken, req, null);
        const r = w.current ? parseRecord(w.current.value) : null;
        throw conflict(`port ${port} on host ${req.host} was just taken by ${holder(r)}`);
      }
      taken.push(port);
    }
    const assignment: Assignment = {
      cluster: req.cluster,
      host: req.host,
      ports: next,
      podUid: req.podUid,
      allocatedAt: new Date().toISOString(),
    };
    const w = await this.store.put(aKey, JSON.stringify(assignment), {
      expectModRevision: aKv ? aKv.modRevision : 0,
    });
    if (!w.ok) {
      await this.releasePorts(req.host, taken, req, null);
      throw new HttpError(503, `port assignment ${aKey} changed concurrently; retry`, {
        "retry-after": "1",
      });
    }
    const replaced = before.filter((p) => !next.includes(p));
    await this.releasePorts(req.host, replaced, req, null);
    if (current && current.host !== req.host)
      await this.releasePorts(current.host, current.ports, req, null);
  }

  /** Free every port of a pod (all containers). Returns the number of ports freed. */
  async freePod(namespace: string, pod: string): Promise<number> {
    this.held.forget(namespace, pod);
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
    await this.store.delete(quotaKey(namespace, pod));
    return freed;
  }
}

/** Ports an agent reported for one container: AUTO_PORT index -> port. */
export interface ClaimRequest extends PodOwner {
  cluster: string;
  host: string;
  podUid?: string;
  quota: number;
  ports: Map<number, number>;
}

/** The annotation key of AUTO_PORT{i} of a container, as agents write it. */
export function reportKey(i: number, container: string): string {
  return container ? `AUTO_PORT${i}_${container}` : `AUTO_PORT${i}`;
}

/** Who holds a ledger record, for error messages. */
export function holder(r: PortRecord | null): string {
  if (!r) return "a record the server cannot read";
  if (r.kind === "external")
    return `a process outside the ledger (reported busy by pod ${r.reportedBy}, held until ${r.until})`;
  return `pod ${r.namespace}/${r.pod}${r.container ? ` (container ${r.container})` : ""} of cluster ${r.cluster}`;
}

/** The ledger record of a port held by a pod's container, taken now. */
function podRecord(req: PodOwner & { cluster: string }): PodPortRecord {
  return {
    kind: "pod",
    cluster: req.cluster,
    namespace: req.namespace,
    pod: req.pod,
    container: req.container,
    allocatedAt: new Date().toISOString(),
  };
}

function ownedBy(kv: KeyValue, o: PodOwner): boolean {
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
