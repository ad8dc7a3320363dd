// UTF-8 helpers. Go's fmt works on UTF-8 bytes and runes; JavaScript strings
// are UTF-16. These helpers give the Go view of a JS string: rune counts for
// widths, byte arrays for %x, rune iteration for quoting. A lone surrogate
// (which valid UTF-8 cannot hold) is treated as U+FFFD, as Go's JSON decoder does.

const encoder = new TextEncoder();

/** Number of runes (code points) in s, as utf8.RuneCountInString. */
export function runeCount(s: string): number {
  const n = s.length;
  let count = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** The UTF-8 bytes of s. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** True when every code unit is ASCII (one byte per rune in UTF-8). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Code point at UTF-16 index i; lone surrogates read as U+FFFD. */
export function runeAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return c;
  if (c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return 0xfffd;
}

/** UTF-16 length of the rune at index i (2 for a valid surrogate pair). */
export function runeWidth16(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** The first n runes of s (Go's truncateString for a precision). */
export function truncateRunes(s: string, n: number): string {
  let i = 0;
  while (i < s.length) {
    if (n-- <= 0) return s.slice(0, i);
    i += runeWidth16(s, i);
  }
  return s;
}

/** A rune as a JS string; invalid runes (surrogates, > 0x10FFFF, negative) become U+FFFD. */
export function runeToString(r: number): string {
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return "\ufffd";
  return String.fromCodePoint(r);
}
