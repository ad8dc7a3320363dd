// Capped exponential backoff for restart policy Always (Kubernetes'
// CrashLoopBackOff, scaled down so a demo recovers in well under a second).
// A replica that ran longer than `resetAfterMs` starts over at `initialMs`.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 250,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 10_000,
};

export class Backoff {
  private failures = 0;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Delay before the next start, given how long the last run lasted. */
  next(lastRunMs: number): number {
    if (lastRunMs >= this.opts.resetAfterMs) this.failures = 0;
    const delay = Math.min(
      this.opts.maxMs,
      this.opts.initialMs * this.opts.factor ** this.failures,
    );
    this.failures++;
    return delay;
  }
}
