// Go's `path` package (Clean, Join, Base, Dir, Ext, IsAbs, Match) with its
// exact semantics: confd presents keys through path.Join and matches `gets`
// patterns with path.Match, sprig's path functions are these, so templates
// depend on the details (Dir("a/") is "a", Ext(".bashrc") is ".bashrc").

/** path.Clean: shortest equivalent path ("" -> ".", "//a/" -> "/a"). */
export function clean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (rooted) return `/${body}`;
  return body === "" ? "." : body;
}

/** path.Join: joins the non-empty elements with "/" and cleans; all empty -> "". */
export function join(...elems: string[]): string {
  const parts = elems.filter((e) => e !== "");
  return parts.length === 0 ? "" : clean(parts.join("/"));
}

/** path.Base: last element; "" -> ".", all slashes -> "/". */
export function base(p: string): string {
  if (p === "") return ".";
  let s = p;
  while (s.length > 0 && s.endsWith("/")) s = s.slice(0, -1);
  if (s === "") return "/";
  const i = s.lastIndexOf("/");
  return i >= 0 ? s.slice(i + 1) : s;
}

/** path.Dir: everything but the last element, cleaned. */
export function dir(p: string): string {
  const i = p.lastIndexOf("/");
  return clean(p.slice(0, i + 1));
}

/** path.Ext: the suffix from the last "." of the last element ("" when it has none). */
export function ext(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) {
    if (p[i] === ".") return p.slice(i);
  }
  return "";
}

/** path.IsAbs */
export function isAbs(p: string): boolean {
  return p.startsWith("/");
}

/** Go's path.ErrBadPattern message. */
export const BAD_PATTERN = "syntax error in pattern";

export class BadPatternError extends Error {
  override name = "BadPatternError";
  constructor() {
    super(BAD_PATTERN);
  }
}

const patternCache = new Map<string, RegExp>();

/**
 * path.Match as a compiled RegExp: `*` = any run of non-"/" characters,
 * `?` = one non-"/" character, `[...]` classes with ranges and `^`
 * negation, `\\` escapes. A malformed pattern throws BadPatternError
 * (Go >= 1.16 reports it even when the name would not match).
 */
export function compileMatch(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re) return re;
  re = new RegExp(`^${translate(pattern)}$`, "su");
  if (patternCache.size > 1000) patternCache.clear();
  patternCache.set(pattern, re);
  return re;
}

export function match(pattern: string, name: string): boolean {
  return compileMatch(pattern).test(name);
}

/** The literal text before the first meta character: a cheap pre-filter for sorted keys. */
export function literalPrefix(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" || c === "?" || c === "[") return out;
    if (c === "\\") {
      if (i + 1 >= pattern.length) return out;
      out += pattern[++i];
      continue;
    }
    out += c;
  }
  return out;
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function translate(pattern: string): string {
  const chars = Array.from(pattern);
  let out = "";
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    if (c === "*") {
      out += "[^/]*";
      i++;
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "[") {
      const [cls, next] = translateClass(chars, i + 1);
      out += cls;
      i = next;
    } else if (c === "\\") {
      if (i + 1 >= chars.length) throw new BadPatternError();
      out += escapeRegex(chars[i + 1]);
      i += 2;
    } else {
      out += escapeRegex(c);
      i++;
    }
  }
  return out;
}

/** Translates a class body starting after "["; returns the regex and the index after "]". */
function translateClass(chars: string[], start: number): [string, number] {
  let i = start;
  let negate = false;
  if (chars[i] === "^") {
    negate = true;
    i++;
  }
  const ranges: string[] = [];
  let first = true;
  for (;;) {
    if (i >= chars.length) throw new BadPatternError();
    if (chars[i] === "]" && !first) {
      i++;
      break;
    }
    first = false;
    const [lo, afterLo] = classChar(chars, i);
    i = afterLo;
    let hi = lo;
    if (chars[i] === "-") {
      const [h, afterHi] = classChar(chars, i + 1);
      hi = h;
      i = afterHi;
    }
    // A reversed range is legal in Go and matches nothing.
    if ((lo.codePointAt(0) ?? 0) <= (hi.codePointAt(0) ?? 0)) {
      ranges.push(lo === hi ? escapeRegex(lo) : `${escapeRegex(lo)}-${escapeRegex(hi)}`);
    }
  }
  const body = ranges.join("");
  // Unlike `*` and `?`, a class may match "/" in Go's path.Match.
  return [negate ? `[^${body}]` : `[${body}]`, i];
}

function classChar(chars: string[], i: number): [string, number] {
  if (i >= chars.length) throw new BadPatternError();
  const c = chars[i];
  if (c === "-" || c === "]") throw new BadPatternError();
  if (c === "\\") {
    if (i + 1 >= chars.length) throw new BadPatternError();
    return [chars[i + 1], i + 2];
  }
  return [c, i + 1];
}
