// Go's regexp package over a translated JavaScript RegExp: Compile /
// MustCompile errors as Go words them, and the match loops of Go's
// FindAll / ReplaceAll / Split (an empty match right after a match is
// skipped, unlike String.prototype.replace), Expand's $name / ${name}.
// Positions are UTF-16 indices; Go's are byte offsets — the same matches.

import { canBackquote, quote } from "./quote.js";
import { RegexpSyntaxError, translate } from "./regexp-syntax.js";

export { RegexpSyntaxError } from "./regexp-syntax.js";

/** regexp.MustCompile's panic: `regexp: Compile(`+quote(expr)+`): `+err. */
export class RegexpCompileError extends Error {
  override name = "RegexpCompileError";
  constructor(expr: string, cause: RegexpSyntaxError) {
    super(
      `regexp: Compile(${canBackquote(expr) ? `\`${expr}\`` : quote(expr)}): ${cause.message}`,
      {
        cause,
      },
    );
  }
}

type Match = RegExpExecArray;

export class GoRegexp {
  private readonly re: RegExp;
  /** SubexpNames: "" for the whole match and unnamed groups. */
  readonly names: readonly string[];

  constructor(readonly expr: string) {
    const t = translate(expr);
    this.re = new RegExp(t.source, "gu");
    this.names = t.names;
  }

  /** The leftmost match starting at or after pos (Go's doExecute), or null. */
  private execAt(s: string, pos: number): Match | null {
    this.re.lastIndex = pos;
    return this.re.exec(s);
  }

  matchString(s: string): boolean {
    return this.execAt(s, 0) !== null;
  }

  findString(s: string): string {
    return this.execAt(s, 0)?.[0] ?? "";
  }

  /** Go's allMatches: at most n (n < 0: all); an empty match abutting the previous one is dropped. */
  private allMatches(s: string, n: number): Match[] {
    const out: Match[] = [];
    const limit = n < 0 ? s.length + 1 : n;
    let prevEnd = -1;
    for (let pos = 0; out.length < limit && pos <= s.length; ) {
      const m = this.execAt(s, pos);
      if (m === null) break;
      const end = m.index + m[0].length;
      let accept = true;
      if (end === pos) {
        if (m.index === prevEnd) accept = false;
        pos += Math.max(runeWidth(s, pos), 1);
      } else pos = end;
      prevEnd = end;
      if (accept) out.push(m);
    }
    return out;
  }

  /** FindAllString: null (Go's nil) when nothing matched. */
  findAllString(s: string, n: number): string[] | null {
    const all = this.allMatches(s, n);
    return all.length === 0 ? null : all.map((m) => m[0]);
  }

  replaceAllString(s: string, template: string): string {
    return this.replaceAll(s, (m) => this.expand(template, m));
  }

  replaceAllLiteralString(s: string, repl: string): string {
    return this.replaceAll(s, () => repl);
  }

  /** Go's replaceAll loop: no replacement for an empty match right after a match. */
  private replaceAll(s: string, repl: (m: Match) => string): string {
    let out = "";
    let lastEnd = 0;
    for (let pos = 0; pos <= s.length; ) {
      const m = this.execAt(s, pos);
      if (m === null) break;
      const end = m.index + m[0].length;
      out += s.slice(lastEnd, m.index);
      if (end > lastEnd || m.index === 0) out += repl(m);
      lastEnd = end;
      const width = runeWidth(s, pos);
      if (pos + width > end) pos += width;
      else if (pos + 1 > end) pos++;
      else pos = end;
    }
    return out + s.slice(lastEnd);
  }

  /** Regexp.Split: n > 0 at most n parts, n == 0 nil, n < 0 all. */
  split(s: string, n: number): string[] | null {
    if (n === 0) return null;
    if (this.expr.length > 0 && s.length === 0) return [""];
    const parts: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of this.allMatches(s, n)) {
      if (n > 0 && parts.length === n - 1) break;
      end = m.index;
      if (m.index + m[0].length !== 0) parts.push(s.slice(beg, end));
      beg = m.index + m[0].length;
    }
    if (end !== s.length) parts.push(s.slice(beg));
    return parts;
  }

  /** Regexp.Expand: $1, ${1}, $name, ${name}; $$ is "$"; `$1W` names the group "1W". */
  expand(template: string, m: Match): string {
    let out = "";
    let t = template;
    for (;;) {
      const at = t.indexOf("$");
      if (at < 0) break;
      out += t.slice(0, at);
      t = t.slice(at + 1);
      if (t.startsWith("$")) {
        out += "$";
        t = t.slice(1);
        continue;
      }
      const ref = extractName(t);
      if (ref === null) {
        out += "$";
        continue;
      }
      t = ref.rest;
      out += this.group(m, ref.name);
    }
    return out + t;
  }

  /** A group by number (no leading zeros) or else by name: the first of that name that matched. */
  private group(m: Match, name: string): string {
    if (/^(0|[1-9][0-9]{0,8})$/.test(name)) return m[Number(name)] ?? "";
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === name && m[i] !== undefined) return m[i] as string;
    }
    return "";
  }
}

/** Go's extract: a name of letters, digits and "_", optionally in braces. */
function extractName(s: string): { name: string; rest: string } | null {
  const brace = s.startsWith("{");
  const body = brace ? s.slice(1) : s;
  const name = /^[\p{L}\p{Nd}_]*/u.exec(body)?.[0] ?? "";
  if (name === "") return null;
  let rest = body.slice(name.length);
  if (brace) {
    if (!rest.startsWith("}")) return null;
    rest = rest.slice(1);
  }
  return { name, rest };
}

function runeWidth(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

const cache = new Map<string, GoRegexp>();
const CACHE_LIMIT = 256;

/** regexp.Compile (cached: templates compile the same expression on every render). */
export function compile(expr: string): GoRegexp {
  let re = cache.get(expr);
  if (re === undefined) {
    re = new GoRegexp(expr);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(expr, re);
  }
  return re;
}

/** regexp.MustCompile: throws RegexpCompileError (Go's panic text). */
export function mustCompile(expr: string): GoRegexp {
  try {
    return compile(expr);
  } catch (err) {
    if (err instanceof RegexpSyntaxError) throw new RegexpCompileError(expr, err);
    throw err;
  }
}

/** regexp.QuoteMeta */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}
