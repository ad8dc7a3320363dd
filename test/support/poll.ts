// The one poll of the test suites: tests wait for a condition, not for a
// wall-clock window (the machine is loaded). The suites' own helper names
// (runtime waitFor, store eventually, domeize/server/confd until) call this.

export interface PollOptions {
  /** Give up after this long; the check still runs once at the deadline. */
  timeoutMs: number;
  /** Pause between two checks. */
  intervalMs: number;
  /**
   * A throwing check counts as "not yet" and its last error is named on
   * timeout (for checks that talk to something still starting). Without it a
   * throw ends the wait at once, with that error.
   */
  retryThrows?: boolean;
  /** More to say on timeout (a process log, the last answer seen). */
  detail?: () => string | Promise<string>;
}

/** The wait for `what` ran out; `cause` is the check's last error, if any. */
export class PollTimeoutError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PollTimeoutError";
  }
}

/** Run `check` every `intervalMs` until it gives a truthy value, and return that value. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs, intervalMs, retryThrows = false, detail }: PollOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (!retryThrows) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw await timeout(what, timeoutMs, last, detail);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function timeout(
  what: string,
  timeoutMs: number,
  last: unknown,
  detail: PollOptions["detail"],
): Promise<PollTimeoutError> {
  const error = last === undefined ? "" : `: ${last instanceof Error ? last.message : last}`;
  const more = detail ? `\n${await detail()}` : "";
  return new PollTimeoutError(
    `timed out after ${timeoutMs} ms waiting for ${what}${error}${more}`,
    last === undefined ? undefined : { cause: last },
  );
}
