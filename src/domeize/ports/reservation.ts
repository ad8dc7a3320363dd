// Host-local port reservation without a global lock: every candidate port
// is claimed with an O_EXCL file (see claims.ts), then confirmed with a bind
// probe. Order of candidates: the server ledger's offer, this container's
// previous ports (sticky restarts), fresh ports at random, and last the
// ports of dead claims of others (so a restarting pod usually finds its
// ports still free).

import { EXIT, fail } from "../exit.js";
import {
  breakClaim,
  type Claim,
  claimedPorts,
  claimIsLive,
  claimLiveness,
  claimPath,
  prepareDirs,
  previousPorts,
  readClaim,
  releaseClaim,
  rememberPorts,
  tryClaim,
} from "./claims.js";
import type { ProcessIdentity } from "./identity.js";
import { portIsFree } from "./probe.js";
import type { PortsInUse } from "./procnet.js";

export interface ReserveRequest {
  readonly stateDir: string;
  readonly key: string;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly owner: ProcessIdentity;
  /** Ports /proc/net shows in use. */
  readonly inUse: PortsInUse;
  readonly leaseTtlMs: number;
  /**
   * The server ledger: the ports it assigns to this container, given ports
   * our probe found busy and our previous ones (docs/ports-ledger.md).
   */
  readonly propose?: (busy: number[], preferred: number[]) => Promise<number[] | undefined>;
}

export interface Reserved {
  readonly ports: number[];
  readonly sticky: number;
  /** Give the ports back (the report failed: they were never published). */
  release(): void;
}

type Attempt = "claimed" | "taken";

/** Claim one port: create its claim file, or take over a dead (or our own old) one. */
function claimPort(req: ReserveRequest, port: number, claim: Claim): Attempt {
  for (let round = 0; round < 2; round++) {
    if (tryClaim(req.stateDir, port, claim)) return "claimed";
    const view = readClaim(claimPath(req.stateDir, port));
    if (view === undefined) continue; // released meanwhile: try again
    const ours = view.claim?.key === req.key && claimLiveness(view) !== "alive";
    if (!ours && claimIsLive(view, port, req.inUse, req.leaseTtlMs)) return "taken";
    breakClaim(req.stateDir, port, view.ino);
  }
  return "taken";
}

/**
 * The candidates, drawn one at a time: our previous ports (they may linger
 * in TIME_WAIT after the app was killed), then fresh ports in random order,
 * then ports with claims of others (maybe dead) in random order. The random
 * order is a Fisher-Yates shuffle done step by step, as far as needed: a
 * start usually takes two or three ports of a range of a thousand.
 */
function candidates(req: ReserveRequest, previous: number[]): () => number | undefined {
  const claimed = claimedPorts(req.stateDir);
  const fresh: number[] = [];
  const others: number[] = [];
  for (let p = req.start; p <= req.end; p++) {
    if (req.inUse.has(p)) continue;
    (claimed.has(p) ? others : fresh).push(p);
  }
  const own = previous.filter((p) => !req.inUse.hard(p) && p >= req.start && p <= req.end);
  const draw = (a: number[], k: number) => {
    const j = k + Math.floor(Math.random() * (a.length - k));
    [a[k], a[j]] = [a[j], a[k]];
    return a[k];
  };
  const seen = new Set<number>();
  let i = 0;
  let f = 0;
  let o = 0;
  return () => {
    for (;;) {
      let p: number;
      if (i < own.length) p = own[i++];
      else if (f < fresh.length) p = draw(fresh, f++);
      else if (o < others.length) p = draw(others, o++);
      else return undefined;
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
}

/** Claim the given ports and probe them together; returns those that passed. */
async function claimAndProbe(
  req: ReserveRequest,
  ports: number[],
  claim: Claim,
): Promise<{ ok: number[]; bad: number[] }> {
  const claimed = ports.filter((p) => claimPort(req, p, claim) === "claimed");
  const free = await Promise.all(claimed.map((p) => portIsFree(p)));
  const ok: number[] = [];
  const bad = ports.filter((p) => !claimed.includes(p));
  claimed.forEach((p, k) => {
    if (free[k]) ok.push(p);
    else {
      releaseClaim(req.stateDir, p, claim);
      bad.push(p);
    }
  });
  return { ok, bad };
}

/**
 * The ledger's flow: ask, probe what it assigns, report what was busy and
 * ask again (a few rounds). Keeps the server's order when all of its last
 * answer was taken.
 */
async function fromLedger(
  req: ReserveRequest,
  previous: number[],
  claim: Claim,
): Promise<number[]> {
  const chosen: number[] = [];
  const busy: number[] = [];
  let last: number[] | undefined;
  for (let round = 0; round < 3 && chosen.length < req.count; round++) {
    last = await req.propose!(busy, previous);
    if (last === undefined) break;
    // The ledger assigned these (our previous ones included): only a real
    // user of the port (not a TIME_WAIT leftover) makes one busy.
    const fresh = last.filter(
      (p) => !chosen.includes(p) && p >= req.start && p <= req.end && !req.inUse.hard(p),
    );
    busy.push(...last.filter((p) => req.inUse.hard(p)));
    const { ok, bad } = await claimAndProbe(req, fresh.slice(0, req.count - chosen.length), claim);
    chosen.push(...ok);
    busy.push(...bad);
  }
  if (
    last !== undefined &&
    last.length === chosen.length &&
    last.every((p) => chosen.includes(p))
  ) {
    return [...last];
  }
  return chosen;
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
    prepareDirs(req.stateDir);
  } catch (err) {
    fail(EXIT.ports, `cannot use DOMEIZE_STATE_DIR ${req.stateDir}: ${(err as Error).message}`);
  }
  const previous = previousPorts(req.stateDir, req.key);
  const claim: Claim = { key: req.key, owner: req.owner, created: Date.now() };
  const chosen: number[] = req.propose === undefined ? [] : await fromLedger(req, previous, claim);
  let taken = 0;
  const next = candidates(req, previous);
  while (chosen.length < req.count) {
    // Claim as many as still needed, then probe them together.
    const want: number[] = [];
    while (want.length < req.count - chosen.length) {
      const p = next();
      if (p === undefined) break;
      if (!chosen.includes(p)) want.push(p);
    }
    if (want.length === 0) break;
    const { ok, bad } = await claimAndProbe(req, want, claim);
    chosen.push(...ok);
    taken += bad.length;
  }
  const release = () => {
    for (const p of chosen) releaseClaim(req.stateDir, p, claim);
  };
  if (chosen.length < req.count) {
    release();
    fail(
      EXIT.ports,
      `port range ${req.start}-${req.end} exhausted: ${chosen.length} of ${req.count} ports free ` +
        `(${req.inUse.countIn(req.start, req.end)} of the range in use on the host, ${taken} reserved by other containers)`,
    );
  }
  // Old claims of ours that we did not take back are free now.
  for (const p of previous) if (!chosen.includes(p)) releaseOld(req, p);
  // A restart that got the same ports back leaves the record as it is.
  const same = chosen.length === previous.length && chosen.every((p, k) => p === previous[k]);
  if (!same) rememberPorts(req.stateDir, req.key, chosen);
  return { ports: chosen, sticky: chosen.filter((p) => previous.includes(p)).length, release };
}

function releaseOld(req: ReserveRequest, port: number): void {
  const view = readClaim(claimPath(req.stateDir, port));
  if (view?.claim?.key === req.key && claimLiveness(view) !== "alive") {
    breakClaim(req.stateDir, port, view.ino);
  }
}
