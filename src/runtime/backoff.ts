// Restart backoff for restart policy Always (Kubernetes' CrashLoopBackOff,
// scaled down so a demo recovers in well under a second): the shared capped
// exponential backoff, started over when a replica ran longer than
// `resetAfterMs`.
import { Backoff, type BackoffPolicy } from "../retry/backoff.js";

export interface BackoffOptions extends BackoffPolicy {
  readonly factor: number;
  /** A run at least this long (ms) counts as healthy: the next delay is initialMs again. */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 250,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 10_000,
};

export class RestartBackoff {
  private readonly backoff: Backoff;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.backoff = new Backoff(opts);
  }

  /** Delay before the next start, given how long the last run lasted. */
  next(lastRunMs: number): number {
    if (lastRunMs >= this.opts.resetAfterMs) this.backoff.reset();
    return this.backoff.next();
  }
}
