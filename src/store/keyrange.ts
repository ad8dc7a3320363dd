// Prefix -> half-open key range [start, end), the way etcd turns a prefix
// into a range. SQLite's BINARY collation compares UTF-8 bytes, which orders
// like Unicode code points, so incrementing the last code point of the
// prefix gives the exact exclusive end.

const MAX_CODE_POINT = 0x10ffff;

/** The smallest string greater than every string that starts with `prefix`; null = no bound. */
export function prefixEnd(prefix: string): string | null {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < MAX_CODE_POINT) {
      // Skip the surrogate block: it is not a valid code point in UTF-8.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return points.join("") + String.fromCodePoint(next);
    }
  }
  return null;
}

/** Keys must be non-empty strings without NUL (etcd allows NUL, SQLite TEXT and URLs do not like it). */
export function validateKey(key: unknown, where: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(`${where}: key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  if (key.includes("\0")) {
    throw new TypeError(`${where}: key ${JSON.stringify(key)} contains a NUL character`);
  }
  return key;
}

export function validateValue(value: unknown, where: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${where}: value must be a string, got ${typeof value}`);
  }
  return value;
}

export function validateTtl(ttlSeconds: unknown, where: string): number {
  if (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`${where}: lease TTL must be an integer >= 1 second, got ${ttlSeconds}`);
  }
  return ttlSeconds;
}

export function validateExpect(expect: unknown, where: string): number | undefined {
  if (expect === undefined) return undefined;
  if (typeof expect !== "number" || !Number.isInteger(expect) || expect < 0) {
    throw new RangeError(`${where}: expectModRevision must be an integer >= 0, got ${expect}`);
  }
  return expect;
}
