// Lease records in DOMEIZE_STATE_DIR/leases: one JSON file per pod container
// ("cluster~namespace~pod~container"), holding its ports and its owner. The
// owner is the process that becomes the app (domeize execs it, keeping the
// pid), so a lease dies with the app. Owners in another pid namespace cannot
// be checked: their lease counts as live for DOMEIZE_LEASE_TTL, and for as
// long as one of its ports is in use.

import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { type Liveness, liveness, type ProcessIdentity } from "./identity.js";

export interface Lease {
  readonly key: string;
  readonly ports: number[];
  readonly owner: ProcessIdentity;
  /** ms since epoch */
  readonly created: number;
}

export interface LeaseView {
  readonly lease: Lease;
  readonly file: string;
  readonly live: boolean;
  readonly owner: Liveness;
}

export function leaseDir(stateDir: string): string {
  return `${stateDir}/leases`;
}

export function leaseFile(stateDir: string, key: string): string {
  const name = key.length <= 200 ? key : `${key.slice(0, 150)}~${fnv(key)}`;
  return `${leaseDir(stateDir)}/${name}.json`;
}

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

function isLease(v: unknown): v is Lease {
  const l = v as Lease;
  return (
    typeof l === "object" &&
    l !== null &&
    typeof l.key === "string" &&
    Array.isArray(l.ports) &&
    l.ports.every((p) => Number.isInteger(p)) &&
    typeof l.owner === "object" &&
    l.owner !== null &&
    typeof l.created === "number"
  );
}

export function isLive(
  lease: Lease,
  state: Liveness,
  inUse: Set<number>,
  ttlMs: number,
  now: number,
): boolean {
  if (state !== "unknown") return state === "alive";
  return now - lease.created < ttlMs || lease.ports.some((p) => inUse.has(p));
}

export function readLeases(stateDir: string, inUse: Set<number>, ttlMs: number): LeaseView[] {
  const dir = leaseDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const now = Date.now();
  const out: LeaseView[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const file = `${dir}/${name}`;
    let lease: unknown;
    try {
      lease = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      continue; // unreadable: ignored (writes are atomic, so this is foreign)
    }
    if (!isLease(lease)) continue;
    const owner = liveness(lease.owner);
    out.push({ lease, file, owner, live: isLive(lease, owner, inUse, ttlMs, now) });
  }
  return out;
}

/** Write atomically: a reader sees the old or the new record, never a torn one. */
export function writeLease(stateDir: string, lease: Lease): void {
  const dir = leaseDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const tmp = `${dir}/.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, JSON.stringify(lease), { mode: 0o666 });
  renameSync(tmp, leaseFile(stateDir, lease.key));
}

export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
