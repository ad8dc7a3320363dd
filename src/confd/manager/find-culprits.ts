// Which of the changed keys make a check fail? Group testing by bisection:
// `passes(hidden)` renders with those keys left out and runs the check.
// Assumes leaving more keys out never breaks a config that passed (true of an
// upstream list; a template where it is not gets "not traced" and the
// resource freezes as confd would).
//
// Cost: 1 check to see that hiding every candidate helps, then about
// log2(n) checks per culprit found.

export interface CulpritSearch {
  /** Keys found at fault (leaving them out makes the check pass). */
  culprits: string[];
  /** Checks run. */
  probes: number;
}

export interface CulpritLimits {
  /** Give up after this many culprits (a broken template, not a bad pod). */
  maxCulprits: number;
  /** Give up after this many checks. */
  maxProbes: number;
  /** Give up once this epoch-ms deadline has passed (a slow or hanging check_cmd). */
  deadline?: number;
}

/** The culprits, or null when the failure cannot be traced to candidates within the limits. */
export async function findCulprits(
  candidates: readonly string[],
  passes: (hidden: readonly string[]) => Promise<boolean>,
  limits: CulpritLimits,
): Promise<CulpritSearch | null> {
  let probes = 0;
  const overBudget = () =>
    probes >= limits.maxProbes || (limits.deadline !== undefined && Date.now() > limits.deadline);
  const test = (hidden: readonly string[]) => {
    probes++;
    return passes(hidden);
  };
  if (candidates.length === 0 || !(await test(candidates))) return null;
  const culprits: string[] = [];
  let rest = [...candidates];
  for (;;) {
    // Invariant: hiding culprits + rest passes; hiding only culprits fails.
    // Find the shortest prefix of rest whose showing makes the check fail.
    let lo = 0; // showing rest[0..lo) passes
    let hi = rest.length; // showing rest[0..hi) fails
    while (hi - lo > 1) {
      if (overBudget()) return null;
      const mid = (lo + hi) >>> 1;
      if (await test([...culprits, ...rest.slice(mid)])) lo = mid;
      else hi = mid;
    }
    culprits.push(rest[hi - 1]);
    // rest[0..hi-1) passed alongside the culprits: only rest[hi..] remain suspect.
    rest = rest.slice(hi);
    if (rest.length === 0) return { culprits, probes };
    if (overBudget()) return null;
    if (await test(culprits)) return { culprits, probes };
    if (culprits.length >= limits.maxCulprits) return null;
  }
}
