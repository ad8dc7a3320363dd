// strconv.FormatFloat for float64, ported from Go 1.19 (ftoa.go).
//
// Shortest formatting (%v, %g, precision -1) takes its digits from
// Number#toExponential(), which like Go's Ryu yields the shortest digit string
// that parses back to the same double. Explicit precisions (%.2f, %.3e, %.4g)
// are rounded from the EXACT decimal value of the double, half to even as Go's
// decimal.Round does: toFixed() rounds exact ties away from zero (2.5 -> "3"),
// Go gives "2".

/** Digits d (no leading zeros, no trailing zeros) with value 0.d × 10^dp. */
interface Decimal {
  d: string;
  dp: number;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;

/** Sign, biased-exponent-applied mantissa and binary exponent: |x| = mant × 2^exp. */
function decompose(x: number): { neg: boolean; mant: bigint; exp: number } {
  f64[0] = x;
  const hi = u32[HI];
  const lo = u32[LO];
  const neg = hi >>> 31 === 1;
  let e = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e === 0) e = 1;
  else mant |= 1n << 52n;
  return { neg, mant, exp: e - 1023 - 52 };
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Number of binary digits after the point in finite |x| (0 for integers). */
function fractionalBits(x: number): number {
  if (Number.isInteger(x)) return 0;
  f64[0] = x;
  const hi = u32[HI];
  const lo = u32[LO];
  const e = (hi >>> 20) & 0x7ff;
  const mantHi = (hi & 0xfffff) | (e === 0 ? 0 : 0x100000);
  const tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(mantHi);
  return 1075 - (e === 0 ? 1 : e) - tz;
}

/**
 * %.Nf through Number#toFixed when that is exact: toFixed rounds the exact
 * value correctly except on an exact tie, which it breaks away from zero where
 * Go breaks it to even. A tie at precision p needs exactly p+1 fractional bits
 * (k fractional bits give exactly k fractional decimal digits, the last a 5).
 */
function fixedFast(x: number, prec: number): string | undefined {
  const a = Math.abs(x);
  if (!(a < 1e21) || prec > 100 || fractionalBits(a) === prec + 1) return undefined;
  const s = a.toFixed(prec);
  return x < 0 || Object.is(x, -0) ? `-${s}` : s;
}

/** The exact decimal expansion of |x| (finite). */
function exactDecimal(x: number): Decimal {
  const { mant, exp } = decompose(x);
  if (mant === 0n) return { d: "", dp: 0 };
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--;
  return { d: digits.slice(0, end), dp };
}

/** Shortest round-tripping digits of |x| (finite). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: "", dp: 0 };
  const s = Math.abs(x).toExponential();
  const e = s.indexOf("e");
  const mant = e === 1 ? s[0] : s[0] + s.slice(2, e);
  let end = mant.length;
  while (end > 1 && mant.charCodeAt(end - 1) === 48) end--;
  return { d: mant.slice(0, end), dp: Number(s.slice(e + 1)) + 1 };
}

/** Go's decimal.Round(nd) on exact digits: half to even. */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  const c = a.d.charCodeAt(nd);
  let up: boolean;
  if (c === 53 && nd + 1 === a.d.length) {
    up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  } else {
    up = c >= 53;
  }
  if (!up) {
    let end = nd;
    while (end > 0 && a.d.charCodeAt(end - 1) === 48) end--;
    return { d: a.d.slice(0, end), dp: a.dp };
  }
  // Round up: find the last digit < 9 within the kept ones.
  let i = nd - 1;
  while (i >= 0 && a.d.charCodeAt(i) === 57) i--;
  if (i < 0) return { d: "1", dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp };
}

function zeros(n: number): string {
  return n > 0 ? "0".repeat(n) : "";
}

/** %e: -d.dddde±dd */
function fmtE(neg: boolean, d: Decimal, prec: number, fmt: string): string {
  let s = neg ? "-" : "";
  s += d.d.length ? d.d[0] : "0";
  if (prec > 0) {
    s += ".";
    const m = Math.min(d.d.length, prec + 1);
    s += d.d.slice(1, m) + zeros(prec + 1 - Math.max(m, 1));
  }
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  let sign = "+";
  if (exp < 0) {
    sign = "-";
    exp = -exp;
  }
  return s + fmt + sign + (exp < 10 ? `0${exp}` : String(exp));
}

/** %f: -ddddddd.ddddd */
function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let s = neg ? "-" : "";
  if (d.dp > 0) {
    const m = Math.min(d.d.length, d.dp);
    s += d.d.slice(0, m) + zeros(d.dp - m);
  } else {
    s += "0";
  }
  if (prec > 0) {
    s += ".";
    // Digits at positions dp .. dp+prec-1 of d, zero outside.
    const start = d.dp;
    const end = d.dp + prec;
    if (start < 0) s += zeros(Math.min(-start, prec));
    const from = Math.max(start, 0);
    const to = Math.min(end, d.d.length);
    if (to > from) s += d.d.slice(from, to);
    s += zeros(end - Math.max(to, from, start, 0));
  }
  return s;
}

/** %b: -ddddp±ddd (mantissa and binary exponent). */
function fmtB(x: number): string {
  const { neg, mant, exp } = decompose(x);
  return `${neg ? "-" : ""}${mant}p${exp >= 0 ? "+" : ""}${exp}`;
}

/** %x / %X: -0x1.yyyyp±dd */
function fmtX(x: number, prec: number, fmt: string): string {
  const dec = decompose(x);
  let mant = dec.mant;
  let exp = dec.exp + 52;
  if (mant === 0n) exp = 0;
  mant <<= 8n; // leading 1 (if any) at bit 60
  const bit60 = 1n << 60n;
  while (mant !== 0n && (mant & bit60) === 0n) {
    mant <<= 1n;
    exp--;
  }
  const mask60 = bit60 - 1n;
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & mask60;
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const digits = fmt === "X" ? "0123456789ABCDEF" : "0123456789abcdef";
  let s = `${dec.neg ? "-" : ""}0${fmt}${(mant >> 60n) & 1n}`;
  mant = (mant << 4n) & ((1n << 64n) - 1n);
  const mask64 = (1n << 64n) - 1n;
  if (prec < 0 && mant !== 0n) {
    s += ".";
    while (mant !== 0n) {
      s += digits[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & mask64;
    }
  } else if (prec > 0) {
    s += ".";
    for (let i = 0; i < prec; i++) {
      s += digits[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & mask64;
    }
  }
  s += fmt === "X" ? "P" : "p";
  let sign = "+";
  if (exp < 0) {
    sign = "-";
    exp = -exp;
  }
  return s + sign + (exp < 10 ? `0${exp}` : String(exp));
}

/**
 * strconv.FormatFloat(x, fmt, prec, 64) for fmt in b e E f g G x X.
 * prec < 0 means the shortest representation that round-trips.
 */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  if (fmt === "b") return fmtB(x);
  if (fmt === "x" || fmt === "X") return fmtX(x, prec, fmt);
  if (prec < 0 && (fmt === "g" || fmt === "G")) {
    const v = formatFloatV(x);
    return fmt === "g" ? v : v.replace("e", "E");
  }
  if (fmt === "f" && prec >= 0) {
    const fast = fixedFast(x, prec);
    if (fast !== undefined) return fast;
  }
  const neg = x < 0 || Object.is(x, -0);
  const shortest = prec < 0;
  let d: Decimal;
  if (shortest) {
    d = shortestDecimal(x);
    if (fmt === "e" || fmt === "E") prec = Math.max(d.d.length - 1, 0);
    else if (fmt === "f") prec = Math.max(d.d.length - d.dp, 0);
    else prec = d.d.length;
  } else {
    d = exactDecimal(x);
    if (fmt === "e" || fmt === "E") d = roundDecimal(d, prec + 1);
    else if (fmt === "f") d = roundDecimal(d, d.dp + prec);
    else {
      if (prec === 0) prec = 1;
      d = roundDecimal(d, prec);
    }
  }
  switch (fmt) {
    case "e":
    case "E":
      return fmtE(neg, d, prec, fmt);
    case "f":
      return fmtF(neg, d, prec);
    case "g":
    case "G": {
      const nd = d.d.length;
      let eprec = prec;
      if (eprec > nd && nd >= d.dp) eprec = nd;
      // %e is used if the exponent from the conversion is less than -4 or
      // greater than or equal to the precision; shortest uses precision 6.
      if (shortest) eprec = 6;
      const exp = d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, d, prec - 1, fmt === "g" ? "e" : "E");
      }
      if (prec > d.dp) prec = nd;
      return fmtF(neg, d, Math.max(prec - d.dp, 0));
    }
  }
  return `%${fmt}`;
}

/**
 * A direct-mapped cache of formatted non-integer float64s. V8's shortest
 * double-to-string costs 150-550 ns when its own small number-string cache
 * misses (Go's Ryu: ~60 ns); templates print the same values again and again
 * (every range row, every confd re-render), so a 16384-entry table keyed by the
 * double's bits makes a repeat ~15 ns. Memory is bounded; a miss costs a store.
 */
const CACHE_BITS = 14;
const cacheKeys = new Float64Array(1 << CACHE_BITS);
const cacheVals: (string | undefined)[] = new Array(1 << CACHE_BITS).fill(undefined);

function cacheSlot(x: number): number {
  f64[0] = x;
  const h = Math.imul(u32[LO] ^ Math.imul(u32[HI], 0x9e3779b1), 0x85ebca6b);
  return h >>> (32 - CACHE_BITS);
}

/** %v of a float64 (Go's 'g' with shortest precision), with fast paths. */
export function formatFloatV(x: number): string {
  if (x < 1e6 && x > -1e6) {
    if (x >= 1e-4 || x <= -1e-4) {
      if (Number.isInteger(x)) return String(x);
    } else if (x === 0) {
      return Object.is(x, -0) ? "-0" : "0";
    }
  } else if (Number.isNaN(x)) {
    return "NaN";
  } else if (x === Infinity) {
    return "+Inf";
  } else if (x === -Infinity) {
    return "-Inf";
  }
  const slot = cacheSlot(x);
  const hit = cacheVals[slot];
  if (hit !== undefined && cacheKeys[slot] === x) return hit;
  const s = formatFloatVSlow(x);
  cacheKeys[slot] = x;
  cacheVals[slot] = s;
  return s;
}

/** Go's %v text of a finite non-zero float64 that is not a small integer. */
function formatFloatVSlow(x: number): string {
  if (x < 1e6 && x > -1e6 && (x >= 1e-4 || x <= -1e-4)) return String(x);
  // Exponent form: JS gives "1.5e+7" / "1e-7"; Go wants at least two exponent digits.
  const s = x.toExponential();
  const e = s.indexOf("e");
  return s.length - e === 3 ? `${s.slice(0, e + 2)}0${s[e + 2]}` : s;
}
