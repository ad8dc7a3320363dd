// Per-pod token buckets for agent writes: a pod (even with a valid token)
// cannot flood the store; other pods keep their own budget. Checked after
// authentication, so nobody can spend another pod's budget.
import { HttpError } from "../http/errors.js";

export interface RateSettings {
  /** Tokens added per second (0: no limit). */
  rate: number;
  /** Bucket size: writes a pod may make at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export class PodRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly s: RateSettings) {}

  /** Take one token for `pod`, or throw 429 with Retry-After (seconds). */
  take(pod: string, now = performance.now()): void {
    if (this.s.rate <= 0) return;
    let b = this.buckets.get(pod);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.dropFull(now);
      b = { tokens: this.s.burst, at: now };
      this.buckets.set(pod, b);
    } else {
      b.tokens = Math.min(this.s.burst, b.tokens + ((now - b.at) / 1000) * this.s.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.s.rate));
    throw new HttpError(
      429,
      `pod ${pod}: too many agent writes (limit ${this.s.rate}/s, burst ${this.s.burst}); retry after ${wait} s`,
      { "retry-after": String(wait) },
    );
  }

  /** Forget buckets that would be full again by now (they carry no state). */
  private dropFull(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.s.rate >= this.s.burst) this.buckets.delete(k);
    }
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}
