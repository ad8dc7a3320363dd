// Port claims in DOMEIZE_STATE_DIR: one file per port, ports/<port>, created
// with O_EXCL. Creating the file is the reservation, so concurrent domeize
// processes never need a global lock (no queue, no thundering herd) and can
// never both hold a port. A claim names its pod container (key) and owner:
// the process that becomes the app (domeize execs it, keeping the pid), so
// the claim dies with the app. Owners in another pid namespace cannot be
// checked: their claim counts as live for DOMEIZE_LEASE_TTL and for as long
// as its port is in use. A dead claim is broken through a second O_EXCL
// file (ports/<port>.break), so two breakers never remove a fresh claim.

import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { type Liveness, liveness, type ProcessIdentity } from "./identity.js";

export interface Claim {
  readonly key: string;
  readonly owner: ProcessIdentity;
  /** ms since epoch */
  readonly created: number;
}

const BREAKER_STALE_MS = 10_000;

export function claimPath(stateDir: string, port: number): string {
  return `${stateDir}/ports/${port}`;
}

export function prepareDirs(stateDir: string): void {
  for (const dir of [stateDir, `${stateDir}/ports`, `${stateDir}/keys`]) {
    if (mkdirSync(dir, { recursive: true }) !== undefined) {
      // Created by us: every container user of the node must be able to
      // claim and break claims here (not sticky: breaking means unlinking
      // other users' files). The umask must not narrow that.
      chmodSync(dir, 0o777);
    }
  }
}

/** Ports that have a claim file (live or not). */
export function claimedPorts(stateDir: string): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync(`${stateDir}/ports`)) {
    if (/^\d+$/.test(name)) out.add(Number(name));
  }
  return out;
}

function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

export interface ClaimView {
  readonly claim: Claim | undefined;
  readonly ino: number;
  readonly mtimeMs: number;
}

export function readClaim(path: string): ClaimView | undefined {
  try {
    const st = statSync(path);
    let claim: Claim | undefined;
    try {
      claim = JSON.parse(readFileSync(path, "utf8")) as Claim;
    } catch {
      claim = undefined; // being written, or foreign
    }
    return { claim, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

export function claimLiveness(view: ClaimView): Liveness {
  return view.claim?.owner === undefined ? "unknown" : liveness(view.claim.owner);
}

/** Whether a claim still protects its port. */
export function claimIsLive(
  view: ClaimView,
  port: number,
  inUse: { has(port: number): boolean },
  ttlMs: number,
): boolean {
  const state = claimLiveness(view);
  if (state !== "unknown") return state === "alive";
  const created = view.claim?.created ?? view.mtimeMs;
  return Date.now() - created < ttlMs || inUse.has(port);
}

export function tryClaim(stateDir: string, port: number, claim: Claim): boolean {
  return createExclusive(claimPath(stateDir, port), JSON.stringify(claim));
}

/** Remove the claim we judged dead, if it is still that same file. */
export function breakClaim(stateDir: string, port: number, ino: number): void {
  const path = claimPath(stateDir, port);
  const breaker = `${path}.break`;
  if (!createExclusive(breaker, String(process.pid))) {
    try {
      if (Date.now() - statSync(breaker).mtimeMs > BREAKER_STALE_MS) unlinkQuiet(breaker);
    } catch {
      // gone
    }
    return;
  }
  try {
    if (statSync(path).ino === ino) unlinkQuiet(path);
  } catch {
    // gone meanwhile
  } finally {
    unlinkQuiet(breaker);
  }
}

/** Release a claim we hold (checked: never someone else's). */
export function releaseClaim(stateDir: string, port: number, claim: Claim): void {
  const view = readClaim(claimPath(stateDir, port));
  if (view?.claim?.key === claim.key && view.claim.created === claim.created) {
    unlinkQuiet(claimPath(stateDir, port));
  }
}

// keys/<key>.json remembers a container's ports for sticky restarts.

function keyFile(stateDir: string, key: string): string {
  return `${stateDir}/keys/${key.length <= 200 ? key : `${key.slice(0, 150)}~${fnv(key)}`}.json`;
}

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

export function previousPorts(stateDir: string, key: string): number[] {
  try {
    const v = JSON.parse(readFileSync(keyFile(stateDir, key), "utf8")) as {
      key?: string;
      ports?: unknown;
    };
    if (v.key !== key || !Array.isArray(v.ports)) return [];
    return v.ports.filter((p): p is number => Number.isInteger(p));
  } catch {
    return [];
  }
}

export function rememberPorts(stateDir: string, key: string, ports: readonly number[]): void {
  const file = keyFile(stateDir, key);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ key, ports, updated: Date.now() }), { mode: 0o666 });
  renameSync(tmp, file);
}
