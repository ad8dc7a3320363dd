// Go's `strings` functions where JavaScript's nearest method differs: empty
// separators (Go splits into runes and inserts around every rune), counts,
// unicode.IsSpace (U+0085 is space, U+FEFF is not), and simple case mapping
// (a character whose full mapping is several characters, like "ß", stays).

/** strings.SplitN: n > 0 at most n parts (the last holds the rest), n == 0 none, n < 0 all. */
export function splitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === "") {
    const runes = Array.from(s);
    if (n < 0 || runes.length <= n) return runes;
    return [...runes.slice(0, n - 1), runes.slice(n - 1).join("")];
  }
  if (n < 0) return s.split(sep);
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const at = rest.indexOf(sep);
    if (at < 0) break;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + sep.length);
  }
  out.push(rest);
  return out;
}

/** strings.Split: an empty separator splits into runes. */
export function split(s: string, sep: string): string[] {
  return splitN(s, sep, -1);
}

/** strings.Replace(s, old, new, n): n < 0 replaces all; an empty old inserts around every rune. */
export function replace(s: string, old: string, repl: string, n: number): string {
  if (n === 0 || old === repl) return s;
  if (old === "") {
    const runes = Array.from(s);
    let out = "";
    let done = 0;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0 || done < n) {
        out += repl;
        done++;
      }
      if (i < runes.length) out += runes[i];
    }
    return out;
  }
  if (n < 0) return s.split(old).join(repl);
  let out = "";
  let rest = s;
  for (let i = 0; i < n; i++) {
    const at = rest.indexOf(old);
    if (at < 0) break;
    out += rest.slice(0, at) + repl;
    rest = rest.slice(at + old.length);
  }
  return out + rest;
}

/**
 * The characters whose simple mapping (Go's) is one character while their full
 * mapping (JavaScript's) is several: İ lowers to i; Greek letters with
 * ypogegrammeni upper to their titlecase form.
 */
function simpleMapping(code: number, upper: boolean): number | undefined {
  if (!upper) return code === 0x130 ? 0x69 : undefined;
  if (code >= 0x1f80 && code <= 0x1faf && (code & 0xf) < 8) return code + 8;
  if (code === 0x1fb3 || code === 0x1fc3 || code === 0x1ff3) return code + 9;
  return undefined;
}

function mapCase(s: string, upper: boolean): string {
  // ASCII fast path: identical in Go and JS.
  if (/^[\x00-\x7f]*$/.test(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    if (Array.from(m).length === 1) out += m;
    else {
      const simple = simpleMapping(ch.codePointAt(0) as number, upper);
      out += simple === undefined ? ch : String.fromCodePoint(simple);
    }
  }
  return out;
}

/** strings.ToUpper (unicode.ToUpper per rune). */
export function toUpper(s: string): string {
  return mapCase(s, true);
}

/** strings.ToLower (unicode.ToLower per rune). */
export function toLower(s: string): string {
  return mapCase(s, false);
}

/** unicode.IsSpace */
export function isSpace(ch: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(ch);
}

/** strings.TrimSpace */
export function trimSpace(s: string): string {
  return trimFunc(Array.from(s), isSpace, true, true);
}

/** strings.Fields: runs of non-space runes. */
export function fields(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const ch of s) {
    if (isSpace(ch)) {
      if (cur !== "") out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur !== "") out.push(cur);
  return out;
}

function trimFunc(runes: string[], drop: (ch: string) => boolean, left: boolean, right: boolean) {
  let i = 0;
  let j = runes.length;
  while (left && i < j && drop(runes[i])) i++;
  while (right && j > i && drop(runes[j - 1])) j--;
  return runes.slice(i, j).join("");
}

/** strings.Trim(s, cutset). */
export function trim(s: string, cutset: string): string {
  const set = new Set(Array.from(cutset));
  return trimFunc(Array.from(s), (ch) => set.has(ch), true, true);
}

/** strings.TrimPrefix */
export function trimPrefix(s: string, prefix: string): string {
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

/** strings.TrimSuffix */
export function trimSuffix(s: string, suffix: string): string {
  return suffix !== "" && s.endsWith(suffix) ? s.slice(0, s.length - suffix.length) : s;
}
