// sprig v3 string functions (text only; dockerize's own upper/lower/
// contains/replace/split override some of these names).

import { quote } from "../../golib/quote.js";
import {
  isSpace,
  replace,
  split,
  splitN,
  toLower,
  toUpper,
  trim,
  trimPrefix,
  trimSpace,
  trimSuffix,
} from "../../golib/strings.js";
import { FuncError, type FuncMap, goFunc } from "../../gotemplate/value.js";
import { isNil, strings, strval } from "./convert.js";

const S = "string";
const I = "int";
const ANY = "any";

/** Random index (not for secrets: sprig's rand* are not either). */
function randomInt(n: number): number {
  return Math.floor(Math.random() * n);
}

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== "");
}

function title(s: string): string {
  return s.replace(
    /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
    (_m, pre: string, c: string) => pre + c.toUpperCase(),
  );
}

function untitle(s: string): string {
  return s.replace(/(^|\s)(\S)/g, (_m, pre: string, c: string) => pre + c.toLowerCase());
}

function swapcase(s: string): string {
  return Array.from(s, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("");
}

/** xstrings.ToSnakeCase-like: words split on case changes, digits and separators. */
function splitWords(s: string): string[] {
  return s
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "");
}

const isConnector = (c: string) => c === "-" || c === "_" || isSpace(c);

/** xstrings.ToCamelCase (v1.5, sprig v3.3): words split by "-", "_" and spaces; runs of connectors keep all but one. */
function camelcase(s: string): string {
  const runes = Array.from(s);
  if (runes.length === 0) return "";
  let out = "";
  let i = 0;
  let r0 = "";
  while (i < runes.length) {
    r0 = runes[i++] as string;
    if (!isConnector(r0)) {
      r0 = toUpper(r0);
      break;
    }
    out += r0;
  }
  if (i === runes.length) return out + r0;
  while (i < runes.length) {
    const r1 = r0;
    r0 = runes[i++] as string;
    if (isConnector(r0) && isConnector(r1)) {
      out += r1;
      continue;
    }
    if (isConnector(r1)) r0 = toUpper(r0);
    else {
      r0 = toLower(r0);
      out += r1;
    }
  }
  return out + r0;
}

function wrapWith(width: number, sep: string, s: string): string {
  const lines: string[] = [];
  for (const para of s.split("\n")) {
    let line = "";
    for (const w of para.split(" ")) {
      if (line !== "" && line.length + 1 + w.length > width) {
        lines.push(line);
        line = w;
      } else line = line === "" ? w : `${line} ${w}`;
    }
    lines.push(line);
  }
  return lines.join(sep);
}

function randFrom(chars: string, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += chars[randomInt(chars.length)];
  return out;
}

const ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");

function substr(start: number, end: number, s: string): string {
  if (start < 0) return s.slice(0, end);
  if (end < 0 || end > s.length) return s.slice(start);
  return s.slice(start, end);
}

function trunc(c: number, s: string): string {
  if (c < 0 && s.length + c > 0) return s.slice(s.length + c);
  if (c >= 0 && s.length > c) return s.slice(0, c);
  return s;
}

function abbrev(width: number, s: string): string {
  if (width < 4 || s.length <= width) return s;
  return `${s.slice(0, width - 3)}...`;
}

function abbrevboth(left: number, right: number, s: string): string {
  if (right < 4 || (left > 0 && right < 7)) return s;
  if (s.length <= right) return s;
  let offset = Math.min(left, s.length);
  if (s.length - offset < right - 3) offset = s.length - (right - 3);
  if (offset <= 4) return abbrev(right, s);
  if (offset + right - 3 < s.length) return `...${abbrev(right - 3, s.slice(offset))}`;
  return `...${s.slice(s.length - (right - 3))}`;
}

export function sprigStrings(): FuncMap {
  const f = goFunc;
  return {
    abbrev: f([I, S], abbrev as never),
    abbrevboth: f([I, I, S], abbrevboth as never),
    trunc: f([I, S], trunc as never),
    trim: f([S], trimSpace as never),
    trimAll: f([S, S], ((cut: string, s: string) => trim(s, cut)) as never),
    trimall: f([S, S], ((cut: string, s: string) => trim(s, cut)) as never),
    trimPrefix: f([S, S], ((p: string, s: string) => trimPrefix(s, p)) as never),
    trimSuffix: f([S, S], ((p: string, s: string) => trimSuffix(s, p)) as never),
    upper: f([S], toUpper as never),
    lower: f([S], toLower as never),
    title: f([S], title as never),
    untitle: f([S], untitle as never),
    substr: f([I, I, S], substr as never),
    repeat: f([I, S], ((n: number, s: string) => {
      if (n < 0) throw new FuncError("strings: negative Repeat count");
      return s.repeat(n);
    }) as never),
    nospace: f([S], ((s: string) => s.replace(/\s+/g, "")) as never),
    initials: f([S], ((s: string) =>
      words(s)
        .map((w) => Array.from(w)[0])
        .join("")) as never),
    swapcase: f([S], swapcase as never),
    shuffle: f([S], ((s: string) => {
      const a = Array.from(s);
      for (let i = a.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a.join("");
    }) as never),
    snakecase: f([S], ((s: string) =>
      splitWords(s)
        .map((w) => w.toLowerCase())
        .join("_")) as never),
    kebabcase: f([S], ((s: string) =>
      splitWords(s)
        .map((w) => w.toLowerCase())
        .join("-")) as never),
    camelcase: f([S], camelcase as never),
    wrap: f([I, S], ((w: number, s: string) => wrapWith(w, "\n", s)) as never),
    wrapWith: f([I, S, S], wrapWith as never),
    contains: f([S, S], ((sub: string, s: string) => s.includes(sub)) as never),
    hasPrefix: f([S, S], ((p: string, s: string) => s.startsWith(p)) as never),
    hasSuffix: f([S, S], ((p: string, s: string) => s.endsWith(p)) as never),
    quote: f(
      [],
      ((...xs: unknown[]) =>
        xs
          .filter((x) => !isNil(x))
          .map((x) => quote(strval(x)))
          .join(" ")) as never,
      { variadic: ANY },
    ),
    squote: f(
      [],
      ((...xs: unknown[]) =>
        xs
          .filter((x) => !isNil(x))
          .map((x) => `'${strval(x)}'`)
          .join(" ")) as never,
      { variadic: ANY },
    ),
    cat: f(
      [],
      ((...xs: unknown[]) =>
        xs
          .filter((x) => !isNil(x))
          .map(strval)
          .join(" ")) as never,
      {
        variadic: ANY,
      },
    ),
    indent: f([I, S], ((n: number, s: string) => {
      const pad = " ".repeat(n);
      return pad + s.replace(/\n/g, `\n${pad}`);
    }) as never),
    nindent: f([I, S], ((n: number, s: string) => {
      const pad = " ".repeat(n);
      return `\n${pad}${s.replace(/\n/g, `\n${pad}`)}`;
    }) as never),
    replace: f([S, S, S], ((old: string, rep: string, s: string) =>
      replace(s, old, rep, -1)) as never),
    plural: f([S, S, I], ((one: string, many: string, n: number) =>
      n === 1 ? one : many) as never),
    randAlpha: f([I], ((n: number) => randFrom(ALPHA, n)) as never),
    randAlphaNum: f([I], ((n: number) => randFrom(ALPHA + DIGITS, n)) as never),
    randAscii: f([I], ((n: number) => randFrom(ASCII, n)) as never),
    randNumeric: f([I], ((n: number) => randFrom(DIGITS, n)) as never),
    splitList: f([S, S], ((sep: string, s: string) => strings(split(s, sep))) as never),
    splitn: f([S, I, S], ((sep: string, n: number, s: string) => {
      const out: Record<string, unknown> = {};
      splitN(s, sep, n).forEach((p, i) => {
        out[`_${i}`] = p;
      });
      return out;
    }) as never),
    hello: f([], (() => "Hello!") as never),
  };
}
