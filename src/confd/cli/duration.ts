// Go time.ParseDuration ("300ms", "1.5s", "1m30s") and consul-template's
// wait syntax "min:max" (or "min", meaning max = 4 x min).

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60000,
  h: 3600000,
};

/** Milliseconds of a Go duration string; throws a clear Error on bad input. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    sign = s[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m)
      throw new Error(
        `invalid duration ${JSON.stringify(text)} (use Go syntax such as 100ms, 2s, 1m30s)`,
      );
    total += Number(m[1]) * UNITS[m[2]];
    i = re.lastIndex;
  }
  return sign * total;
}

export interface Wait {
  minMs: number;
  maxMs: number;
}

/** "100ms:1s" -> {100, 1000}; "2s" -> {2000, 8000}; "" or "0" -> none. */
export function parseWait(text: string): Wait | undefined {
  const s = text.trim();
  if (s === "" || s === "0" || s === "0:0") return undefined;
  const [minText, maxText, extra] = s.split(":");
  if (extra !== undefined)
    throw new Error(`invalid wait ${JSON.stringify(text)}: expected min:max`);
  const minMs = parseDuration(minText);
  const maxMs = maxText === undefined ? minMs * 4 : parseDuration(maxText);
  if (minMs < 0 || maxMs < 0)
    throw new Error(`invalid wait ${JSON.stringify(text)}: negative duration`);
  if (maxMs < minMs) throw new Error(`invalid wait ${JSON.stringify(text)}: max must be >= min`);
  return { minMs, maxMs };
}
