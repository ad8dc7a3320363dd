// When is a full snapshot of the store suspicious? Deletions that arrive as
// watch events from a healthy store are the truth (a deployment scaled to 0
// empties its upstream) and are applied at once: this guard never sees them.
// A snapshot read after a reconnect, a compaction or a revision reset, or an
// empty first read, is different: a wiped, restored or half-written store
// looks exactly like that. Such a snapshot is held and re-read after a short
// delay; it is applied when a re-read confirms it (the same keys again, or no
// longer suspicious), and at the latest after `maxHoldMs` (the latest
// consistent read: never wait forever, never wait for a human).

export interface SnapshotGuardOptions {
  /** Share of the view's keys (0..1) a re-list may drop without confirmation; 1 disables the guard. */
  maxLoss: number;
  /** Delay before each confirmation re-read (ms). Default 1000. */
  confirmDelayMs?: number;
  /** Longest hold (ms): after it the latest consistent read is applied. Default 10000. */
  maxHoldMs?: number;
}

export const DEFAULT_GUARD: Required<SnapshotGuardOptions> = {
  maxLoss: 0.5,
  confirmDelayMs: 1000,
  maxHoldMs: 10_000,
};

/**
 * Why a snapshot of `next` keys should be confirmed before it replaces a view
 * of `current` keys (`current` undefined: the first read), or null.
 */
export function suspicion(
  current: number | undefined,
  next: number,
  maxLoss: number,
): string | null {
  if (maxLoss >= 1) return null;
  if (next === 0 && (current === undefined || current > 0)) {
    return current === undefined ? "empty read" : `empty read (the view has ${current} keys)`;
  }
  if (current === undefined || current === 0 || next >= current) return null;
  const share = (current - next) / current;
  if (share <= maxLoss) return null;
  return `the snapshot drops ${current - next} of ${current} keys (${Math.round(share * 100)}% > max-line-loss ${maxLoss})`;
}

/** Two reads agree when they hold exactly the same keys. */
export function sameKeys(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}
