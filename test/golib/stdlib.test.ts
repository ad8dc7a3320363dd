// src/golib against Go 1.19: every row of test/fixtures/golib/stdlib.json is
// a standard-library call whose result (or error text) Go itself printed
// (test/fixtures/golib/oracle.go). Each TS function must give the same.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as path from "../../src/golib/path.js";
import { canBackquote, quote, quoteToASCII } from "../../src/golib/quote.js";
import { compile, mustCompile, quoteMeta } from "../../src/golib/regexp.js";
import { atoi, parseBool, unquote } from "../../src/golib/strconv.js";
import * as strings from "../../src/golib/strings.js";
import { type GoURL, parseUrl } from "../../src/golib/url.js";

/** The fields and method results the oracle prints for a *url.URL. */
function describeUrl(u: GoURL): Record<string, unknown> {
  const user =
    u.User === null
      ? null
      : {
          String: u.User.String(),
          Username: u.User.Username(),
          Password: u.User.password(),
          HasPassword: u.User.hasPassword(),
        };
  return {
    Scheme: u.Scheme,
    Opaque: u.Opaque,
    Host: u.Host,
    Path: u.Path,
    RawPath: u.RawPath,
    ForceQuery: u.ForceQuery,
    RawQuery: u.RawQuery,
    Fragment: u.Fragment,
    RawFragment: u.RawFragment,
    User: user,
    String: u.String(),
    RequestURI: u.RequestURI(),
    EscapedPath: u.EscapedPath(),
    EscapedFragment: u.EscapedFragment(),
    Redacted: u.Redacted(),
    Hostname: u.Hostname(),
    Port: u.Port(),
    IsAbs: u.IsAbs(),
    Query: u.Query(),
  };
}

interface Row {
  fn: string;
  args: unknown[];
  out?: unknown;
  err?: string;
}

type Impl = (...args: never[]) => unknown;

const IMPLS: Record<string, Impl> = {
  Quote: quote,
  QuoteToASCII: quoteToASCII,
  CanBackquote: canBackquote,
  Unquote: unquote,
  Atoi: (s: string) => atoi(s).toString(),
  ParseBool: parseBool,
  "path.Clean": path.clean,
  "path.Base": path.base,
  "path.Dir": path.dir,
  "path.Ext": path.ext,
  "path.IsAbs": path.isAbs,
  "path.Join": path.join,
  "path.Match": path.match,
  "strings.Split": strings.split,
  "strings.SplitN": strings.splitN,
  "strings.Replace": strings.replace,
  "strings.ToUpper": strings.toUpper,
  "strings.ToLower": strings.toLower,
  "strings.TrimSpace": strings.trimSpace,
  "strings.Fields": strings.fields,
  "strings.Trim": strings.trim,
  "regexp.Compile": (e: string) => compile(e).expr.slice(e.length),
  "regexp.MustCompile": (e: string) => mustCompile(e),
  "regexp.MatchString": (e: string, s: string) => compile(e).matchString(s),
  "regexp.FindString": (e: string, s: string) => compile(e).findString(s),
  "regexp.FindAllString": (e: string, s: string, n: number) => compile(e).findAllString(s, n),
  "regexp.ReplaceAllString": (e: string, s: string, r: string) => compile(e).replaceAllString(s, r),
  "regexp.ReplaceAllLiteralString": (e: string, s: string, r: string) =>
    compile(e).replaceAllLiteralString(s, r),
  "regexp.Split": (e: string, s: string, n: number) => compile(e).split(s, n),
  "regexp.QuoteMeta": quoteMeta,
  "url.Parse": (raw: string) => describeUrl(parseUrl(raw)),
};

export function loadRows(name: string): Row[] {
  const file = new URL(`../../../test/fixtures/golib/${name}`, import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")) as Row[];
}

/** Runs every row of a fixture through its implementation; returns the mismatches. */
export function mismatches(rows: Row[], impls: Record<string, Impl>): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const fn = impls[row.fn];
    if (fn === undefined) {
      out.push(`no implementation for ${row.fn}`);
      continue;
    }
    let got: unknown;
    let err: string | undefined;
    try {
      got = fn(...(row.args as never[]));
    } catch (e) {
      err = (e as Error).message;
    }
    // A nil slice prints as JSON null in Go.
    const want = (row.out ?? null) === null && Array.isArray(got) ? [] : row.out;
    const ok =
      row.err !== undefined ? err === row.err : err === undefined && deepEq(got, want ?? null);
    if (!ok) {
      out.push(
        `${row.fn}(${JSON.stringify(row.args)})\n  want ${JSON.stringify(row.err ?? row.out)}\n  got  ${JSON.stringify(err ?? got)}`,
      );
    }
  }
  return out;
}

function deepEq(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

const ROWS = loadRows("stdlib.json");

for (const [group, prefix] of [
  ["strconv", /^[A-Z]/],
  ["path", /^path\./],
  ["strings", /^strings\./],
  ["regexp (RE2 syntax, errors, match loops, Expand)", /^regexp\./],
  ["net/url (Parse errors, *url.URL fields and methods)", /^url\./],
] as const) {
  test(`${group} matches Go 1.19 on the oracle table`, () => {
    const rows = ROWS.filter((r) => prefix.test(r.fn));
    assert.ok(rows.length > 30, "the table has this group");
    const bad = mismatches(rows, IMPLS);
    assert.equal(
      bad.length,
      0,
      `${bad.length} of ${rows.length} differ:\n${bad.slice(0, 25).join("\n")}`,
    );
  });
}
