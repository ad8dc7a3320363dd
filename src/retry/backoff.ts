// Capped exponential backoff with optional jitter: the one implementation
// behind every retry loop (confd's render/check/reload retries, the store
// mirror's reconnects, the runtime's restarts, domeize's report, the
// server's resume pass, compare-and-swap retries). Dependency-free: domeize
// loads it on its start-up path.

export interface BackoffPolicy {
  /** Delay after the first failure (ms). */
  readonly initialMs: number;
  /** Largest delay (ms). */
  readonly maxMs: number;
  /** Growth per failure; default 2. */
  readonly factor?: number;
  /**
   * Random share taken off each delay, 0..1: 0 = exact, 0.2 = between 80 %
   * and 100 % of it, 1 = anywhere from 0 (full jitter). Spreads a crowd of
   * clients that failed together.
   */
  readonly jitter?: number;
}

/** Failures counted past this add nothing (the delay is long capped) and never overflow. */
const MAX_COUNTED = 64;

/** The delay after `failures` earlier failures (0 = the first retry), before jitter. */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const grown = policy.initialMs * (policy.factor ?? 2) ** Math.min(failures, MAX_COUNTED);
  return Math.min(policy.maxMs, grown);
}

export class Backoff {
  private count = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    const base = backoffDelay(this.policy, this.count);
    this.count = Math.min(this.count + 1, MAX_COUNTED);
    const jitter = this.policy.jitter ?? 0;
    return jitter > 0 ? base * (1 - jitter * this.random()) : base;
  }

  /** A success: the next failure starts again at initialMs. */
  reset(): void {
    this.count = 0;
  }

  /** Failures counted since the last reset. */
  get failures(): number {
    return this.count;
  }
}
