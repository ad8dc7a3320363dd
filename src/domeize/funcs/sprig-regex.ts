// sprig v3's regular expression functions over Go's regexp (src/golib):
// RE2 syntax and errors, Go's match loops and Expand. The plain variants
// use MustCompile (a bad expression is an error naming it, from Go's panic),
// the must* variants return Compile's error; regexMatch answers false.

import { compile, type GoRegexp, mustCompile, quoteMeta } from "../../golib/regexp.js";
import { type FuncMap, goFunc, typedList } from "../../gotemplate/value.js";

const S = "string";
const I = "int";

const strs = (xs: string[] | null) => typedList("[]string", xs ?? []);

/** The plain (MustCompile) and must* (Compile) variants of one function. */
function pair(
  name: string,
  params: string[],
  fn: (re: GoRegexp, ...args: never[]) => unknown,
): FuncMap {
  const call = (get: (e: string) => GoRegexp) =>
    ((e: string, ...args: never[]) => fn(get(e), ...args)) as never;
  const must = `must${name[0]?.toUpperCase()}${name.slice(1)}`;
  return {
    [name]: goFunc([S, ...params], call(mustCompile)),
    [must]: goFunc([S, ...params], call(compile)),
  };
}

export function sprigRegex(): FuncMap {
  return {
    ...pair("regexMatch", [S], (re, s: string) => re.matchString(s)),
    // regexp.MatchString's error is ignored by sprig's regexMatch.
    regexMatch: goFunc([S, S], ((e: string, s: string) => {
      try {
        return compile(e).matchString(s);
      } catch {
        return false;
      }
    }) as never),
    ...pair("regexFind", [S], (re, s: string) => re.findString(s)),
    ...pair("regexFindAll", [S, I], (re, s: string, n: number) => strs(re.findAllString(s, n))),
    ...pair("regexReplaceAll", [S, S], (re, s: string, r: string) => re.replaceAllString(s, r)),
    ...pair("regexReplaceAllLiteral", [S, S], (re, s: string, r: string) =>
      re.replaceAllLiteralString(s, r),
    ),
    ...pair("regexSplit", [S, I], (re, s: string, n: number) => strs(re.split(s, n))),
    regexQuoteMeta: goFunc([S], quoteMeta as never),
  };
}
