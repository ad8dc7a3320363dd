// Go's time.ParseDuration, returning milliseconds (fractional allowed).
// "10" (no unit) is an error except "0", as in Go.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/** Parse a Go duration; returns milliseconds or undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") return undefined;
  let total = 0;
  while (s !== "") {
    const m = PART.exec(s);
    if (m === null) return undefined;
    const [whole, int, frac, unit] = m;
    if (int === "" && (frac === undefined || frac === "")) return undefined;
    const scale = UNIT_MS[unit];
    if (scale === undefined) return undefined;
    total += Number(`${int || "0"}.${frac || "0"}`) * scale;
    s = s.slice(whole.length);
  }
  if (!Number.isFinite(total) || total > 9.223372036854775e12) return undefined;
  return sign * total;
}

/** Format milliseconds the way Go prints a time.Duration (enough for messages). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${Number(rest.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}
