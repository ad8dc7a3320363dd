// sprig v3: defaults and logic, JSON, reflection, encodings, hashes, regular
// expressions (sprig-regex.ts), paths, OS, URLs, UUIDs. node:crypto loads only when a hash
// or UUID function actually runs.

import { base, clean, dir, ext, isAbs } from "../../golib/path.js";
import { type GoURL, parseUrl } from "../../golib/url.js";
import { FuncError, type FuncMap, goFunc, mapGet } from "../../gotemplate/value.js";
import { isEmpty, isMap, isNil, kindOf, strval, typeOf } from "./convert.js";
import { marshal, unmarshal } from "./json.js";
import { deepCopy } from "./sprig-lists.js";

const ANY = "any";
const S = "string";
const I = "int";

function crypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}

function hash(alg: string) {
  return (s: string) => crypto().createHash(alg).update(s, "utf8").digest("hex");
}

function adler32(s: string): string {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(s, "utf8")) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return String(((b << 16) | a) >>> 0);
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function b32enc(s: string): string {
  const bytes = Buffer.from(s, "utf8");
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += "=";
  return out;
}

function b32dec(s: string): string {
  const clean = s.replace(/=+$/, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) return `illegal base32 data at input byte ${s.indexOf(c)}`;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out).toString("utf8");
}

function b64dec(s: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
    return "illegal base64 data at input byte 0";
  return Buffer.from(s, "base64").toString("utf8");
}

function expandenv(s: string): string {
  return s.replace(
    /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g,
    (_m, a: string | undefined, b: string | undefined) => {
      return process.env[a ?? b ?? ""] ?? "";
    },
  );
}

/** sprig's urlParse: url.Parse's parts as a dict. */
function urlParse(s: string): Record<string, unknown> {
  let u: GoURL;
  try {
    u = parseUrl(s);
  } catch (err) {
    throw new FuncError(`unable to parse url: ${(err as Error).message}`, { cause: err });
  }
  return {
    scheme: u.Scheme,
    host: u.Host,
    hostname: u.Hostname(),
    path: u.Path,
    query: u.RawQuery,
    opaque: u.Opaque,
    fragment: u.Fragment,
    userinfo: u.User === null ? "" : u.User.String(),
  };
}

function urlJoin(d: unknown): string {
  if (!isMap(d)) throw new FuncError("urlJoin: expected a dict");
  const g = (k: string) => {
    const v = mapGet(d, k);
    return isNil(v) ? "" : strval(v);
  };
  let out = g("scheme") === "" ? "" : `${g("scheme")}:`;
  if (g("host") !== "" || g("userinfo") !== "") {
    out += `//${g("userinfo") === "" ? "" : `${g("userinfo")}@`}${g("host")}`;
  }
  out += g("opaque") || g("path");
  if (g("query") !== "") out += `?${g("query")}`;
  if (g("fragment") !== "") out += `#${g("fragment")}`;
  return out;
}

function toJsonFn(html: boolean, indent: string, must: boolean) {
  return (v: unknown) => {
    try {
      return marshal(v, html, indent);
    } catch (err) {
      if (must) throw new FuncError((err as Error).message);
      return "";
    }
  };
}

export function sprigMisc(): FuncMap {
  const f = goFunc;
  return {
    empty: f([ANY], isEmpty as never),
    coalesce: f([], ((...xs: unknown[]) => xs.find((x) => !isEmpty(x)) ?? null) as never, {
      variadic: ANY,
    }),
    all: f([], ((...xs: unknown[]) => xs.every((x) => !isEmpty(x))) as never, { variadic: ANY }),
    any: f([], ((...xs: unknown[]) => xs.some((x) => !isEmpty(x))) as never, { variadic: ANY }),
    ternary: f([ANY, ANY, "bool"], ((t: unknown, e: unknown, c: boolean) => (c ? t : e)) as never),
    fail: f([S], ((msg: string) => {
      throw new FuncError(msg);
    }) as never),
    fromJson: f([S], ((s: string) => {
      try {
        return unmarshal(s);
      } catch {
        return {};
      }
    }) as never),
    mustFromJson: f([S], ((s: string) => {
      try {
        return unmarshal(s);
      } catch (err) {
        throw new FuncError((err as Error).message);
      }
    }) as never),
    toJson: f([ANY], toJsonFn(true, "", false) as never),
    mustToJson: f([ANY], toJsonFn(true, "", true) as never),
    toPrettyJson: f([ANY], toJsonFn(true, "  ", false) as never),
    mustToPrettyJson: f([ANY], toJsonFn(true, "  ", true) as never),
    toRawJson: f([ANY], toJsonFn(false, "", false) as never),
    mustToRawJson: f([ANY], toJsonFn(false, "", true) as never),
    toString: f([ANY], strval as never),
    typeOf: f([ANY], typeOf as never),
    typeIs: f([S, ANY], ((t: string, v: unknown) => typeOf(v) === t) as never),
    typeIsLike: f([S, ANY], ((t: string, v: unknown) => {
      const got = typeOf(v);
      return got === t || got === `*${t}`;
    }) as never),
    kindOf: f([ANY], kindOf as never),
    kindIs: f([S, ANY], ((k: string, v: unknown) => kindOf(v) === k) as never),
    b64enc: f([S], ((s: string) => Buffer.from(s, "utf8").toString("base64")) as never),
    b64dec: f([S], b64dec as never),
    b32enc: f([S], b32enc as never),
    b32dec: f([S], b32dec as never),
    sha1sum: f([S], hash("sha1") as never),
    sha256sum: f([S], hash("sha256") as never),
    sha512sum: f([S], hash("sha512") as never),
    adler32sum: f([S], adler32 as never),
    uuidv4: f([], (() => crypto().randomUUID()) as never),
    randBytes: f([I], ((n: number) => crypto().randomBytes(n).toString("base64")) as never),
    base: f([S], base as never),
    dir: f([S], dir as never),
    clean: f([S], clean as never),
    ext: f([S], ext as never),
    isAbs: f([S], isAbs as never),
    // filepath on Linux: the same as path.
    osBase: f([S], base as never),
    osDir: f([S], dir as never),
    osClean: f([S], clean as never),
    osExt: f([S], ext as never),
    osIsAbs: f([S], isAbs as never),
    env: f([S], ((k: string) => process.env[k] ?? "") as never),
    expandenv: f([S], expandenv as never),
    urlParse: f([S], urlParse as never),
    urlJoin: f([ANY], urlJoin as never),
    deepCopy: f([ANY], deepCopy as never),
  };
}
