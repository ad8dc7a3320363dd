// Go's regexp syntax (RE2, regexp/syntax with the Perl flags of
// regexp.Compile) translated to a JavaScript u-mode RegExp source. Parsed as
// Go's parser does, token for token, so that what RE2 refuses is refused with
// Go's error (look-arounds, back-references, \Z, nested repeats, counts over
// 1000) and what it accepts means the same: (?i) (?m) (?s) (?U) scoped flags,
// (?P<name>...), \Q...\E, \A \z, ASCII \s \d \w, POSIX classes, \pL, \x{...},
// octal escapes, `{` as a literal when it is not a repeat, `.` not matching \n.

import {
  classSource,
  cpEscape,
  fold,
  negate,
  PERL_CLASSES,
  POSIX_CLASSES,
  type Range,
  unicodeClass,
} from "./regexp-class.js";

/** regexp/syntax.Error: `error parsing regexp: CODE: \`EXPR\``. */
export class RegexpSyntaxError extends Error {
  override name = "RegexpSyntaxError";
  constructor(
    readonly code: string,
    readonly expr: string,
  ) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

const E = {
  charRange: "invalid character class range",
  escape: "invalid escape sequence",
  namedCapture: "invalid named capture",
  perlOp: "invalid or unsupported Perl syntax",
  repeatOp: "invalid nested repetition operator",
  repeatSize: "invalid repeat count",
  bracket: "missing closing ]",
  paren: "missing closing )",
  repeatArg: "missing argument to repetition operator",
  backslash: "trailing backslash at end of expression",
  unexpectedParen: "unexpected )",
};

interface Flags {
  fold: boolean;
  multiLine: boolean;
  dotNL: boolean;
  ungreedy: boolean;
}

/** A `{n,m}` repeat and the repeats inside it (Go's repeatIsValid walks these). */
interface Rep {
  count: number;
  inner: Rep[];
}

interface Piece {
  src: string;
  /** Can take a quantifier as is (a group, class or one escape); else wrapped in (?:...). */
  atom: boolean;
  reps: Rep[];
}

interface Frame {
  alts: Piece[][];
  pieces: Piece[];
  /** Flags in force when the group opened (restored at its `)`). */
  flags: Flags;
  open: string;
}

export interface Translated {
  source: string;
  /** Go's SubexpNames: "" for the whole match and unnamed groups. */
  names: string[];
}

const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);
const isWordName = (s: string) => /^[0-9A-Za-z_]+$/.test(s);

function unhex(c: string | undefined): number {
  if (c === undefined) return -1;
  const v = Number.parseInt(c, 16);
  return /^[0-9A-Fa-f]$/.test(c) ? v : -1;
}

function repeatIsValid(reps: Rep[], n: number): boolean {
  for (const rep of reps) {
    if (rep.count === 0) continue;
    if (rep.count > n) return false;
    if (!repeatIsValid(rep.inner, Math.trunc(n / rep.count))) return false;
  }
  return true;
}

class Translator {
  private readonly cs: string[];
  private i = 0;
  private flags: Flags = { fold: false, multiLine: false, dotNL: false, ungreedy: false };
  private readonly stack: Frame[] = [];
  private frame: Frame;
  private readonly names: string[] = [""];

  constructor(private readonly expr: string) {
    this.cs = Array.from(expr);
    this.frame = { alts: [], pieces: [], flags: this.flags, open: "" };
  }

  private text(from: number, to = this.cs.length): string {
    return this.cs.slice(from, to).join("");
  }

  private push(src: string, atom: boolean, reps: Rep[] = []): void {
    this.frame.pieces.push({ src, atom, reps });
  }

  translate(): Translated {
    let lastRepeat = -1;
    while (this.i < this.cs.length) {
      const start = this.i;
      const wasRepeat = this.step(lastRepeat);
      lastRepeat = wasRepeat ? start : -1;
    }
    if (this.stack.length > 0) throw new RegexpSyntaxError(E.paren, this.expr);
    return { source: this.alternation(this.frame), names: this.names };
  }

  /** One token of Go's parse loop; true when it was a repetition operator. */
  private step(lastRepeat: number): boolean {
    const c = this.cs[this.i] as string;
    switch (c) {
      case "(":
        this.openParen();
        return false;
      case "|":
        this.frame.alts.push(this.frame.pieces);
        this.frame.pieces = [];
        this.i++;
        return false;
      case ")":
        this.closeParen();
        return false;
      case "^":
        this.push(this.flags.multiLine ? "(?<![^\\n])" : "^", false);
        this.i++;
        return false;
      case "$":
        this.push(this.flags.multiLine ? "(?![^\\n])" : "$", false);
        this.i++;
        return false;
      case ".":
        this.push(this.flags.dotNL ? "[^]" : "[^\\n]", true);
        this.i++;
        return false;
      case "[":
        this.parseClass();
        return false;
      case "*":
      case "+":
      case "?": {
        const from = this.i++;
        this.repeat(c, from, lastRepeat, null);
        return true;
      }
      case "{": {
        const from = this.i;
        const parsed = this.parseRepeat();
        if (parsed === null) {
          this.literal(0x7b);
          this.i++;
          return false;
        }
        const [min, max] = parsed;
        if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
          throw new RegexpSyntaxError(E.repeatSize, this.text(from, this.i));
        }
        const q = max === min ? `{${min}}` : max < 0 ? `{${min},}` : `{${min},${max}}`;
        this.repeat(q, from, lastRepeat, [min, max]);
        return true;
      }
      case "\\":
        this.escape();
        return false;
      default:
        this.literal(c.codePointAt(0) as number);
        this.i++;
        return false;
    }
  }

  private literal(c: number): void {
    if (!this.flags.fold) {
      this.push(cpEscape(c), true);
      return;
    }
    this.push(classSource(fold([[c, c]]), [], false), true);
  }

  private repeat(
    q: string,
    from: number,
    lastRepeat: number,
    counts: [number, number] | null,
  ): void {
    let lazy = this.flags.ungreedy;
    if (this.cs[this.i] === "?") {
      this.i++;
      lazy = !lazy;
    }
    if (lastRepeat >= 0) throw new RegexpSyntaxError(E.repeatOp, this.text(lastRepeat, this.i));
    const last = this.frame.pieces.pop();
    if (last === undefined) throw new RegexpSyntaxError(E.repeatArg, this.text(from, this.i));
    let reps = last.reps;
    if (counts !== null) {
      const [min, max] = counts;
      const node: Rep = { count: max === 0 ? 0 : max < 0 ? min : max, inner: last.reps };
      if ((min >= 2 || max >= 2) && !repeatIsValid([node], 1000)) {
        throw new RegexpSyntaxError(E.repeatSize, this.text(from, this.i));
      }
      reps = [node];
    }
    const operand = last.atom ? last.src : `(?:${last.src})`;
    this.push(`${operand}${q}${lazy ? "?" : ""}`, false, reps);
  }

  /** `{n}`, `{n,}`, `{n,m}` at this.i; null when it is not one (then `{` is a literal). */
  private parseRepeat(): [number, number] | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.text(this.i, this.i + 24));
    if (m === null) return null;
    this.i += m[0].length;
    const num = (s: string) => (s.length > 8 ? 100000 : Number(s));
    const min = num(m[1] as string);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : num(m[3] as string);
    return [min, max];
  }

  private openParen(): void {
    const from = this.i;
    if (this.cs[this.i + 1] === "?") {
      this.perlFlags(from);
      return;
    }
    this.i++;
    this.names.push("");
    this.openGroup("(");
  }

  private openGroup(open: string): void {
    this.stack.push(this.frame);
    this.frame = { alts: [], pieces: [], flags: this.flags, open };
  }

  private closeParen(): void {
    const inner = this.frame;
    const outer = this.stack.pop();
    if (outer === undefined) throw new RegexpSyntaxError(E.unexpectedParen, this.expr);
    this.i++;
    this.flags = inner.flags;
    this.frame = outer;
    const reps = [...inner.alts.flat(), ...inner.pieces].flatMap((p) => p.reps);
    this.push(`${inner.open}${this.alternation(inner)})`, true, reps);
  }

  private alternation(frame: Frame): string {
    return [...frame.alts, frame.pieces].map((ps) => ps.map((p) => p.src).join("")).join("|");
  }

  /** `(?P<name>`, `(?flags)`, `(?flags:`; anything else is Go's invalid Perl syntax. */
  private perlFlags(from: number): void {
    const rest = this.text(from);
    if (rest.length > 4 && rest.startsWith("(?P<")) {
      const end = rest.indexOf(">");
      if (end < 0) throw new RegexpSyntaxError(E.namedCapture, rest);
      const name = rest.slice(4, end);
      if (!isWordName(name)) throw new RegexpSyntaxError(E.namedCapture, rest.slice(0, end + 1));
      this.i += Array.from(rest.slice(0, end + 1)).length;
      this.names.push(name);
      this.openGroup("(");
      return;
    }
    this.i += 2;
    const flags = { ...this.flags };
    let negated = false;
    let sawFlag = false;
    while (this.i < this.cs.length) {
      const c = this.cs[this.i++] as string;
      const on = !negated;
      if (c === "i") flags.fold = on;
      else if (c === "m") flags.multiLine = on;
      else if (c === "s") flags.dotNL = on;
      else if (c === "U") flags.ungreedy = on;
      else if (c === "-" && !negated) {
        negated = true;
        sawFlag = false;
        continue;
      } else if ((c === ":" || c === ")") && !(negated && !sawFlag)) {
        if (c === ":") this.openGroup("(?:");
        this.flags = flags;
        return;
      } else break;
      sawFlag = true;
    }
    throw new RegexpSyntaxError(E.perlOp, this.text(from, this.i));
  }

  private escape(): void {
    const next = this.cs[this.i + 1];
    const simple: Record<string, string> = { A: "^", z: "$", b: "\\b", B: "\\B" };
    if (next !== undefined && simple[next] !== undefined) {
      this.push(simple[next] as string, false);
      this.i += 2;
      return;
    }
    if (next === "C") throw new RegexpSyntaxError(E.escape, "\\C");
    if (next === "Q") {
      const body = this.text(this.i + 2);
      const end = body.indexOf("\\E");
      const lit = end < 0 ? body : body.slice(0, end);
      for (const ch of lit) this.literal(ch.codePointAt(0) as number);
      this.i += 2 + Array.from(lit).length + (end < 0 ? 0 : 2);
      return;
    }
    const cls = this.unicodeClass() ?? this.perlClass();
    if (cls !== null) {
      this.push(classSource(cls.ranges, cls.raw, false), true);
      return;
    }
    this.literal(this.parseEscape());
  }

  /** `\pL`, `\p{Greek}`, `\P{^L}` at this.i (folded as Go does only for range classes). */
  private unicodeClass(): { ranges: Range[]; raw: string[] } | null {
    const c = this.cs[this.i + 1];
    if (this.cs[this.i] !== "\\" || (c !== "p" && c !== "P")) return null;
    let negated = c === "P";
    const from = this.i;
    let name: string;
    if (this.cs[this.i + 2] !== "{") {
      const one = this.cs[this.i + 2];
      this.i += 3;
      if (one === undefined) throw new RegexpSyntaxError(E.charRange, this.text(from));
      name = one;
    } else {
      const rest = this.text(this.i);
      const end = rest.indexOf("}");
      if (end < 0) throw new RegexpSyntaxError(E.charRange, rest);
      name = rest.slice(3, end);
      this.i += Array.from(rest.slice(0, end + 1)).length;
    }
    const seq = this.text(from, this.i);
    if (name.startsWith("^")) {
      negated = !negated;
      name = name.slice(1);
    }
    const cls = unicodeClass(name, negated);
    if (cls === null) throw new RegexpSyntaxError(E.charRange, seq);
    if (typeof cls === "string") return { ranges: [], raw: [cls] };
    return { ranges: this.flags.fold ? fold(cls) : cls, raw: [] };
  }

  /** `\d \D \s \S \w \W` at this.i. */
  private perlClass(): { ranges: Range[]; raw: string[] } | null {
    const c = this.cs[this.i + 1];
    if (this.cs[this.i] !== "\\" || c === undefined) return null;
    const base = PERL_CLASSES[c.toLowerCase()];
    if (base === undefined || !/^[dswDSW]$/.test(c)) return null;
    this.i += 2;
    const folded = this.flags.fold ? fold(base) : base;
    return { ranges: c === c.toUpperCase() ? negate(folded) : folded, raw: [] };
  }

  /** One escaped character (Go's parseEscape) at this.i. */
  private parseEscape(): number {
    const from = this.i;
    this.i++;
    const c = this.cs[this.i++];
    if (c === undefined) throw new RegexpSyntaxError(E.backslash, "");
    const bad = () => new RegexpSyntaxError(E.escape, this.text(from, this.i));
    const isOct = (x: string | undefined) => x !== undefined && x >= "0" && x <= "7";
    const cEsc: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (cEsc[c] !== undefined) return cEsc[c] as number;
    if (c >= "1" && c <= "7" && !isOct(this.cs[this.i])) throw bad();
    if (c >= "0" && c <= "7") {
      let v = Number(c);
      for (let k = 1; k < 3 && isOct(this.cs[this.i]); k++) v = v * 8 + Number(this.cs[this.i++]);
      return v;
    }
    if (c === "x") return this.hexEscape(bad);
    if (c.length === 1 && c.charCodeAt(0) < 0x80 && !isAlnum(c)) return c.charCodeAt(0);
    throw bad();
  }

  private hexEscape(bad: () => RegexpSyntaxError): number {
    const first = this.cs[this.i++];
    if (first === undefined) throw bad();
    if (first !== "{") {
      const x = unhex(first);
      const y = unhex(this.cs[this.i]);
      if (this.cs[this.i] !== undefined) this.i++;
      if (x < 0 || y < 0) throw bad();
      return x * 16 + y;
    }
    let v = 0;
    let digits = 0;
    for (;;) {
      const d = this.cs[this.i];
      if (d === undefined) throw bad();
      this.i++;
      if (d === "}") break;
      const h = unhex(d);
      if (h < 0) throw bad();
      v = v * 16 + h;
      if (v > 0x10ffff) throw bad();
      digits++;
    }
    if (digits === 0) throw bad();
    return v;
  }

  /** `[...]` at this.i. */
  private parseClass(): void {
    const from = this.i;
    this.i++;
    let negated = false;
    if (this.cs[this.i] === "^") {
      negated = true;
      this.i++;
    }
    const ranges: Range[] = [];
    const raw: string[] = [];
    let first = true;
    const missing = () => new RegexpSyntaxError(E.bracket, this.text(from));
    while (this.cs[this.i] !== "]" || first) {
      if (this.i >= this.cs.length) throw missing();
      first = false;
      if (this.cs[this.i] === "[" && this.cs[this.i + 1] === ":") {
        const posix = this.posixClass();
        if (posix !== null) {
          ranges.push(...posix);
          continue;
        }
      }
      const cls = this.unicodeClass() ?? this.perlClass();
      if (cls !== null) {
        ranges.push(...cls.ranges);
        raw.push(...cls.raw);
        continue;
      }
      const rangeFrom = this.i;
      const lo = this.classChar(missing);
      let hi = lo;
      if (
        this.cs[this.i] === "-" &&
        this.cs[this.i + 1] !== undefined &&
        this.cs[this.i + 1] !== "]"
      ) {
        this.i++;
        hi = this.classChar(missing);
        if (hi < lo) throw new RegexpSyntaxError(E.charRange, this.text(rangeFrom, this.i));
      }
      ranges.push(...(this.flags.fold ? fold([[lo, hi]]) : [[lo, hi] as Range]));
    }
    this.i++;
    this.push(classSource(ranges, raw, negated), true);
  }

  private classChar(missing: () => RegexpSyntaxError): number {
    const c = this.cs[this.i];
    if (c === undefined) throw missing();
    if (c === "\\") return this.parseEscape();
    this.i++;
    return c.codePointAt(0) as number;
  }

  /** `[:alpha:]` / `[:^alpha:]` at this.i; null when there is no `:]` (then `[` is a literal). */
  private posixClass(): Range[] | null {
    const rest = this.text(this.i + 2);
    const end = rest.indexOf(":]");
    if (end < 0) return null;
    const name = `[:${rest.slice(0, end)}:]`;
    const negated = name.startsWith("[:^");
    const base = POSIX_CLASSES[name.slice(negated ? 3 : 2, -2)];
    if (base === undefined) throw new RegexpSyntaxError(E.charRange, name);
    this.i += Array.from(name).length;
    const folded = this.flags.fold ? fold(base) : base;
    return negated ? negate(folded) : folded;
  }
}

/** Go regexp syntax -> JavaScript RegExp source (for the "u" flag) and group names. */
export function translate(expr: string): Translated {
  return new Translator(expr).translate();
}
