// Incremental rendering for confd's common template shape
//
//   {{range gets "/registry/pods/*"}}{{$data := json .Value}}...{{end}}
//
// where each iteration's output depends only on its KVPair (Key, Value). The
// range body is cut out of the template text and parsed as a template of its
// own; the rewritten main template calls a memo function per pair instead:
//
//   {{range gets "/registry/pods/*"}}{{_confdRangeMemo0 .}}{{end}}
//
// The memo returns the body's output for that pair, executing the body only
// for pairs whose (Key, Value) it has not seen. After one pod change, a render
// costs one body execution plus a walk over cached strings, not a decode and
// a walk of every pod.
//
// The plan is only made when the body provably depends on nothing but its
// pair: every function it calls is pure (no store, environment, time or DNS
// reads), every variable it uses is declared in it and named nowhere else in
// the template, it never uses `$` (the root data), `template`, `block`,
// `define`, `break` or `continue`, and no trim marker touches its edges. Any
// other template renders as before. A scanner that cannot make sense of the
// text simply finds no plan; the engine still parses the original text.

import type { FuncMap } from "../../gotemplate/value.js";

/** Functions whose result depends only on their arguments (text/template builtins + confd's). */
const PURE_FUNCS = new Set([
  "and", "or", "not", "len", "index", "slice", "print", "printf", "println",
  "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery",
  "json", "jsonArray", "base", "dir", "split", "join", "toUpper", "toLower",
  "contains", "replace", "trimSuffix", "base64Encode", "base64Decode", "parseBool",
  "atoi", "add", "sub", "mul", "div", "mod", "seq",
]); // biome-ignore format: a word list

/** Keywords allowed inside a memoized body (pure control flow and literals). */
const BODY_KEYWORDS = new Set(["if", "else", "end", "range", "with", "nil", "true", "false"]);

interface Action {
  /** Offsets of `{{` and just after `}}`. */
  start: number;
  end: number;
  /** Text between the delimiters, trim markers included. */
  inner: string;
  comment: boolean;
}

/** One memoized range: the body text and the name of its memo function. */
export interface MemoRange {
  funcName: string;
  body: string;
  /**
   * True: the whole `{{range gets P}}...{{end}}` became `{{funcName P}}`
   * (the memo runs `gets` and joins the iterations itself, so an unchanged
   * result costs no per-pod call at all). False: only the body became
   * `{{funcName .}}` (the range has an `{{else}}` or trim markers outside).
   */
  whole: boolean;
}

export interface MemoPlan {
  /** The template text with each memoized body replaced by a memo call. */
  text: string;
  ranges: MemoRange[];
}

/** Finds the memoizable ranges of a template (default delimiters), or null. */
export function planRangeMemo(text: string, funcs: FuncMap): MemoPlan | null {
  const actions = scanActions(text);
  if (!actions) return null;
  const ranges: MemoRange[] = [];
  const parts: string[] = [];
  let copied = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    const pattern = a.comment ? null : getsRangePattern(a.inner);
    if (pattern === null) continue;
    const close = matchingClose(actions, i);
    if (close < 0) return null;
    const body = text.slice(a.end, actions[close].start);
    const outside = text.slice(0, a.end) + text.slice(actions[close].start);
    if (a.inner.endsWith("-") || actions[close].inner.startsWith("-")) continue;
    if (!pureBody(actions.slice(i + 1, close), outside)) continue;
    const funcName = `_confdRangeMemo${ranges.length}`;
    if (Object.hasOwn(funcs, funcName)) return null;
    const c = actions[close];
    const whole = keyword(c) === "end" && !a.inner.startsWith("-") && !c.inner.endsWith("-");
    ranges.push({ funcName, body, whole });
    if (whole) {
      parts.push(text.slice(copied, a.start), `{{${funcName} ${pattern}}}`);
      copied = c.end;
    } else {
      parts.push(text.slice(copied, a.end), `{{${funcName} .}}`);
      copied = c.start;
    }
    i = close;
  }
  if (ranges.length === 0) return null;
  parts.push(text.slice(copied));
  return { text: parts.join(""), ranges };
}

/** The pattern operand of `range gets <string literal or $var>` (nothing declared), or null. */
function getsRangePattern(inner: string): string | null {
  const m = /^range\s+gets\s+("(?:[^"\\\n]|\\.)*"|`[^`]*`|\$[A-Za-z_][A-Za-z0-9_]*)$/.exec(
    inner.replace(/^-\s/, "").replace(/\s-$/, "").trim(),
  );
  return m ? m[1] : null;
}

const OPENERS = new Set(["if", "range", "with", "block", "define"]);

function keyword(a: Action): string {
  const m = /^(?:-\s)?\s*([A-Za-z_]+)/.exec(a.inner);
  return m ? m[1] : "";
}

/** Index of the `else` or `end` that ends the body of the block opened at `open`. */
function matchingClose(actions: Action[], open: number): number {
  let depth = 0;
  for (let j = open + 1; j < actions.length; j++) {
    if (actions[j].comment) continue;
    const k = keyword(actions[j]);
    if (OPENERS.has(k)) depth++;
    else if (k === "end") {
      if (depth === 0) return j;
      depth--;
    } else if (k === "else" && depth === 0) return j;
  }
  return -1;
}

/** Does the body depend only on its dot? */
function pureBody(body: Action[], outside: string): boolean {
  const declared = new Set<string>();
  for (const a of body) {
    if (a.comment) continue;
    const code = stripLiterals(a.inner);
    if (code === null) return false;
    // Variables left of `:=` are declared (`$x :=`, `range $k, $v :=`).
    const decl = code.indexOf(":=");
    for (const m of code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)?/g)) {
      if (!m[1]) return false; // `$`: the root data
      if (decl >= 0 && (m.index ?? decl) < decl) declared.add(m[1]);
    }
  }
  for (const a of body) {
    if (a.comment) continue;
    const code = stripLiterals(a.inner) ?? "";
    for (const m of code.matchAll(/(\$|\.)?([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const [, sigil, name] = m;
      if (sigil === ".") continue; // field or method of a value
      if (sigil === "$") {
        if (!declared.has(name) || mentions(outside, `$${name}`)) return false;
        continue;
      }
      if (BODY_KEYWORDS.has(name)) continue;
      if (!PURE_FUNCS.has(name)) return false;
    }
  }
  return true;
}

function mentions(text: string, variable: string): boolean {
  const re = new RegExp(`\\${variable}(?![A-Za-z0-9_])`);
  return re.test(text);
}

/** Action code with string and character literals blanked; null if unterminated. */
function stripLiterals(code: string): string | null {
  let out = "";
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === "`") {
      const end = literalEnd(code, i);
      if (end < 0) return null;
      out += " ";
      i = end;
    } else out += c;
  }
  return out;
}

/** Index of the closing quote of the literal opening at `i`, or -1. */
function literalEnd(s: string, i: number): number {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (q !== "`" && s[j] === "\\") j++;
    else if (s[j] === q) return j;
  }
  return -1;
}

/** All `{{...}}` actions in order, or null when the text does not scan cleanly. */
function scanActions(text: string): Action[] | null {
  const out: Action[] = [];
  let i = text.indexOf("{{");
  while (i >= 0) {
    let j = i + 2;
    const trimmedStart = text.startsWith("- ", j) ? j + 2 : j;
    if (text.startsWith("/*", trimmedStart)) {
      const close = text.indexOf("*/", trimmedStart + 2);
      if (close < 0) return null;
      const end = text.indexOf("}}", close + 2);
      if (end < 0) return null;
      out.push({ start: i, end: end + 2, inner: text.slice(i + 2, end), comment: true });
      i = text.indexOf("{{", end + 2);
      continue;
    }
    let end = -1;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '"' || c === "'" || c === "`") {
        j = literalEnd(text, j);
        if (j < 0) return null;
      } else if (c === "}" && text[j + 1] === "}") {
        end = j;
        break;
      }
    }
    if (end < 0) return null;
    out.push({ start: i, end: end + 2, inner: text.slice(i + 2, end).trim(), comment: false });
    i = text.indexOf("{{", end + 2);
  }
  return out;
}
