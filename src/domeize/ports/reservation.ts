// Host-local port reservation: under the state-dir lock, pick ports that no
// live lease holds, that /proc/net does not list and that pass a bind probe,
// then record them in this container's lease. Previous ports of the same pod
// container come first (sticky restarts); ports of dead leases of others are
// used last, so a restarting pod usually finds its ports still free.

import { mkdirSync } from "node:fs";
import { EXIT, fail } from "../exit.js";
import type { ProcessIdentity } from "./identity.js";
import { type LeaseView, leaseFile, readLeases, removeFile, writeLease } from "./leases.js";
import { withLock } from "./lock.js";
import { portIsFree } from "./probe.js";

export interface ReserveRequest {
  readonly stateDir: string;
  readonly key: string;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly owner: ProcessIdentity;
  /** Ports /proc/net shows in use. */
  readonly inUse: Set<number>;
  readonly leaseTtlMs: number;
  /** Dead leases are kept this long for sticky restarts, then deleted. */
  readonly keepDeadMs: number;
  /**
   * Optional source of ports other than the range scan (the server's
   * ledger). Called with the ports that must not be returned.
   */
  readonly propose?: (avoid: Set<number>, preferred: number[]) => Promise<number[] | undefined>;
}

export interface Reserved {
  readonly ports: number[];
  readonly leaseFile: string;
  readonly sticky: number;
}

function shuffle(a: number[]): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

interface Picture {
  mine: LeaseView | undefined;
  taken: Set<number>;
  deadOthers: Set<number>;
}

function picture(req: ReserveRequest, leases: LeaseView[]): Picture {
  let mine: LeaseView | undefined;
  const taken = new Set<number>();
  const deadOthers = new Set<number>();
  for (const view of leases) {
    // Our own key: a restart of this container takes its ports back unless
    // the previous owner provably still runs (two containers sharing a key).
    const own = view.lease.key === req.key && view.owner !== "alive";
    if (own) mine = view;
    else if (view.live) for (const p of view.lease.ports) taken.add(p);
    else for (const p of view.lease.ports) deadOthers.add(p);
  }
  return { mine, taken, deadOthers };
}

async function pick(
  req: ReserveRequest,
  pic: Picture,
  offered: readonly number[],
): Promise<{ ports: number[]; sticky: number }> {
  const chosen: number[] = [];
  const usable = (p: number) =>
    p >= req.start && p <= req.end && !req.inUse.has(p) && !pic.taken.has(p) && !chosen.includes(p);
  const previous = pic.mine?.lease.ports ?? [];
  // The ledger's offer first (it knows our previous ports too), then our
  // previous ports (sticky restarts), then random fresh ones.
  for (const p of [...offered, ...previous]) {
    if (chosen.length < req.count && usable(p) && (await portIsFree(p))) chosen.push(p);
  }
  const sticky = chosen.filter((p) => previous.includes(p)).length;
  const fresh: number[] = [];
  const recycled: number[] = [];
  for (let p = req.start; p <= req.end; p++) {
    if (!usable(p)) continue;
    (pic.deadOthers.has(p) ? recycled : fresh).push(p);
  }
  for (const p of [...shuffle(fresh), ...shuffle(recycled)]) {
    if (chosen.length >= req.count) break;
    if (await portIsFree(p)) chosen.push(p);
  }
  return { ports: chosen, sticky };
}

/**
 * Ask the ledger before taking the lock (a network round trip must not hold
 * up every other pod); what it offers is checked again under the lock.
 */
async function askLedger(req: ReserveRequest): Promise<number[]> {
  if (req.propose === undefined) return [];
  const leases = readLeases(req.stateDir, req.inUse, req.leaseTtlMs);
  const pic = picture(req, leases);
  const avoid = new Set<number>([...req.inUse, ...pic.taken]);
  return (await req.propose(avoid, pic.mine?.lease.ports ?? [])) ?? [];
}

export async function reserve(req: ReserveRequest): Promise<Reserved> {
  const size = req.end - req.start + 1;
  if (req.count > size) {
    fail(
      EXIT.ports,
      `NEED_PORTS=${req.count} is more than the ${size} ports in ${req.start}-${req.end}`,
    );
  }
  try {
    mkdirSync(req.stateDir, { recursive: true, mode: 0o777 });
  } catch (err) {
    fail(EXIT.ports, `cannot create DOMEIZE_STATE_DIR ${req.stateDir}: ${(err as Error).message}`);
  }
  const offered = await askLedger(req);
  return withLock(`${req.stateDir}/lock`, req.owner, async () => {
    const leases = readLeases(req.stateDir, req.inUse, req.leaseTtlMs);
    const pic = picture(req, leases);
    const { ports, sticky } = await pick(req, pic, offered);
    if (ports.length < req.count) {
      fail(
        EXIT.ports,
        `port range ${req.start}-${req.end} exhausted: ${ports.length} of ${req.count} ports free ` +
          `(${req.inUse.size} in use on the host, ${pic.taken.size} reserved by other containers)`,
      );
    }
    writeLease(req.stateDir, { key: req.key, ports, owner: req.owner, created: Date.now() });
    collect(leases, req);
    return { ports, sticky, leaseFile: leaseFile(req.stateDir, req.key) };
  });
}

/** Delete dead leases (other than ours) that are past the sticky window. */
function collect(leases: LeaseView[], req: ReserveRequest): void {
  const now = Date.now();
  for (const view of leases) {
    if (view.live || view.lease.key === req.key) continue;
    if (now - view.lease.created > req.keepDeadMs) removeFile(view.file);
  }
}
