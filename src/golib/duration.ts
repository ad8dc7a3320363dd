// Go's time.ParseDuration and Duration.String, exactly: the value is kept in
// integer nanoseconds (bigint) like Go's int64, with Go's overflow limits and
// error messages. Callers get milliseconds (fractional below 1 ms). The one
// duration syntax of domeize, domeos-confd and domeos-server (flags, env,
// config); checked against Go 1.19 by test/golib/duration.test.ts.
// Deliberately small: domeize imports this on its startup path.

import { timeQuote as goTimeQuote } from "./quote.js";

/** A string that time.ParseDuration rejects; the message is Go's. */
export class DurationError extends Error {
  override name = "DurationError";
}

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const TWO_63 = 1n << 63n;
const MAX_INT64 = TWO_63 - 1n;
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** Parses a Go duration to nanoseconds; throws DurationError with Go's message. */
export function parseDurationNs(text: string): bigint {
  const invalid = () => new DurationError(`time: invalid duration ${goTimeQuote(text)}`);
  let s = text;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) throw invalid();
    const int = /^\d*/.exec(s)?.[0] ?? "";
    s = s.slice(int.length);
    let frac = "";
    let hasFrac = false;
    if (s[0] === ".") {
      frac = /^\d*/.exec(s.slice(1))?.[0] ?? "";
      hasFrac = frac !== "";
      s = s.slice(1 + frac.length);
    }
    if (int === "" && !hasFrac) throw invalid();
    let u = 0;
    while (u < s.length && s[u] !== "." && !isDigit(s[u])) u++;
    if (u === 0) throw new DurationError(`time: missing unit in duration ${goTimeQuote(text)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNIT_NS[unitName];
    if (unit === undefined) {
      throw new DurationError(
        `time: unknown unit ${goTimeQuote(unitName)} in duration ${goTimeQuote(text)}`,
      );
    }
    total += part(int, frac, unit, invalid);
    if (total > TWO_63) throw invalid();
  }
  if (neg) return -total;
  if (total > MAX_INT64) throw invalid();
  return total;
}

/** One "<int>.<frac><unit>" term, with Go's overflow rules and its float64 fraction math. */
function part(int: string, frac: string, unit: bigint, invalid: () => Error): bigint {
  const v = int === "" ? 0n : BigInt(int);
  if (v > TWO_63 / unit) throw invalid();
  let ns = v * unit;
  let f = 0n;
  let scale = 1;
  for (const d of frac) {
    // Go's leadingFraction drops the digits that would overflow
    if (f > MAX_INT64 / 10n) break;
    const y = f * 10n + BigInt(d);
    if (y > TWO_63) break;
    f = y;
    scale *= 10;
  }
  if (f > 0n) {
    ns += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
    if (ns > TWO_63) throw invalid();
  }
  return ns;
}

/** Go's time.ParseDuration in milliseconds, or undefined when Go would return an error. */
export function parseDuration(text: string): number | undefined {
  try {
    return nsToMs(parseDurationNs(text));
  } catch (err) {
    if (err instanceof DurationError) return undefined;
    throw err;
  }
}

/** Go's time.ParseDuration in milliseconds; throws DurationError with Go's message. */
export function mustParseDuration(text: string): number {
  return nsToMs(parseDurationNs(text));
}

/**
 * domeos-server's duration settings: Go syntax, or a bare decimal number of
 * seconds ("30", "2.5") as the server's configuration has always accepted
 * (docs/compatibility.md). Anything else fails with Go's message.
 */
export function parseDurationOrSeconds(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  return mustParseDuration(text);
}

function nsToMs(ns: bigint): number {
  const whole = ns / 1_000_000n;
  return Number(whole) + Number(ns - whole * 1_000_000n) / 1e6;
}

/** Go's Duration.String for a number of milliseconds (rounded to whole nanoseconds). */
export function formatDuration(ms: number): string {
  return formatDurationNs(BigInt(Math.round(ms * 1e6)));
}

/** Go's Duration.String. */
export function formatDurationNs(d: bigint): string {
  const neg = d < 0n;
  const ns = neg ? -d : d;
  const sign = neg ? "-" : "";
  if (ns === 0n) return "0s";
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${fixed(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${fixed(ns, 6)}ms`;
  const secNs = ns % 60_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const hours = ns / 3_600_000_000_000n;
  const sec = `${fixed(secNs, 9)}s`;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${sec}`;
  if (minutes > 0n) return `${sign}${minutes}m${sec}`;
  return `${sign}${sec}`;
}

/** value / 10^digits with trailing zeros (and a bare point) removed, as Go's fmtFrac does. */
function fixed(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const frac = (value % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return frac === "" ? `${value / scale}` : `${value / scale}.${frac}`;
}
