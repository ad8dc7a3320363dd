// Go's net/url (Go 1.19): Parse with its errors, and *url.URL as a template
// value whose methods print as Go does — String, RequestURI, EscapedPath
// (RawPath kept when it is a valid encoding of Path), EscapedFragment,
// Redacted, Hostname, Port, IsAbs, Query, User. Escaping works on UTF-8
// bytes, as Go's does.

import { GoStruct, typedList, typedMap } from "../gotemplate/value.js";
import { quote } from "./quote.js";

enum Mode {
  Path = 1,
  PathSegment,
  Host,
  Zone,
  UserPassword,
  QueryComponent,
  Fragment,
}

/** url.Error: `parse "RAW": REASON`. */
export class UrlError extends Error {
  override name = "UrlError";
  constructor(op: string, url: string, reason: string) {
    super(`${op} ${quote(url)}: ${reason}`);
  }
}

class Invalid extends Error {}

const isAlnum = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);

function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  const ch = String.fromCharCode(c);
  if ((mode === Mode.Host || mode === Mode.Zone) && "!$&'()*+,;=:[]<>\"".includes(ch)) return false;
  if ("-_.~".includes(ch)) return false;
  if ("$&+,/:;=?@".includes(ch)) {
    switch (mode) {
      case Mode.Path:
        return ch === "?";
      case Mode.PathSegment:
        return "/;,?".includes(ch);
      case Mode.UserPassword:
        return "@/?:".includes(ch);
      case Mode.QueryComponent:
        return true;
      case Mode.Fragment:
        return false;
    }
  }
  if (mode === Mode.Fragment && "!()*".includes(ch)) return false;
  return true;
}

const isHex = (c: number | undefined) =>
  c !== undefined &&
  ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
const unhex = (c: number) => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** url's unescape: %XX decoding with Go's checks per component. */
function urlUnescape(text: string, mode: Mode): string {
  const s = Buffer.from(text, "utf8");
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i] as number;
    if (c === 0x25) {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new Invalid(`invalid URL escape ${quote(latin1(s.subarray(i, i + 3)))}`);
      }
      const v = (unhex(s[i + 1] as number) << 4) | unhex(s[i + 2] as number);
      const seq = latin1(s.subarray(i, i + 3));
      if (mode === Mode.Host && unhex(s[i + 1] as number) < 8 && seq !== "%25") {
        throw new Invalid(`invalid URL escape ${quote(seq)}`);
      }
      if (mode === Mode.Zone && seq !== "%25" && v !== 0x20 && shouldEscape(v, Mode.Host)) {
        throw new Invalid(`invalid URL escape ${quote(seq)}`);
      }
      out.push(v);
      i += 3;
    } else if (c === 0x2b) {
      out.push(mode === Mode.QueryComponent ? 0x20 : 0x2b);
      i++;
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c < 0x80 && shouldEscape(c, mode)) {
        throw new Invalid(`invalid character ${quote(String.fromCharCode(c))} in host name`);
      }
      out.push(c);
      i++;
    }
  }
  return Buffer.from(out).toString("utf8");
}

/** url's escape: %XX (upper case) for every byte the component may not hold. */
function urlEscape(text: string, mode: Mode): string {
  let out = "";
  for (const c of Buffer.from(text, "utf8")) {
    if (!shouldEscape(c, mode)) out += String.fromCharCode(c);
    else if (c === 0x20 && mode === Mode.QueryComponent) out += "+";
    else out += `%${c.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function validEncoded(s: string, mode: Mode): boolean {
  for (const c of Buffer.from(s, "utf8")) {
    if ("!$&'()*+,;=:@[]%".includes(String.fromCharCode(c))) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

function validOptionalPort(port: string): boolean {
  return port === "" || /^:[0-9]*$/.test(port);
}

export class GoUserinfo extends GoStruct {
  constructor(
    private readonly user: string,
    private readonly pass: string | undefined,
  ) {
    super();
  }
  get goType(): string {
    return "*url.Userinfo";
  }
  Username(): string {
    return this.user;
  }
  /** Password's two results, for Go code (a template cannot call a two-result method). */
  hasPassword(): boolean {
    return this.pass !== undefined;
  }
  password(): string {
    return this.pass ?? "";
  }
  String(): string {
    const u = urlEscape(this.user, Mode.UserPassword);
    return this.pass === undefined ? u : `${u}:${urlEscape(this.pass, Mode.UserPassword)}`;
  }
}

function splitHostPort(hostPort: string): [string, string] {
  let host = hostPort;
  let port = "";
  const colon = host.lastIndexOf(":");
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return [host, port];
}

export class GoURL extends GoStruct {
  Scheme = "";
  Opaque = "";
  User: GoUserinfo | null = null;
  Host = "";
  Path = "";
  RawPath = "";
  ForceQuery = false;
  RawQuery = "";
  Fragment = "";
  RawFragment = "";

  get goType(): string {
    return "*url.URL";
  }
  Hostname(): string {
    return splitHostPort(this.Host)[0];
  }
  Port(): string {
    return splitHostPort(this.Host)[1];
  }
  IsAbs(): boolean {
    return this.Scheme !== "";
  }
  EscapedPath(): string {
    if (this.RawPath !== "" && validEncoded(this.RawPath, Mode.Path)) {
      try {
        if (urlUnescape(this.RawPath, Mode.Path) === this.Path) return this.RawPath;
      } catch {
        // fall through to the default encoding
      }
    }
    if (this.Path === "*") return "*";
    return urlEscape(this.Path, Mode.Path);
  }
  EscapedFragment(): string {
    if (this.RawFragment !== "" && validEncoded(this.RawFragment, Mode.Fragment)) {
      try {
        if (urlUnescape(this.RawFragment, Mode.Fragment) === this.Fragment) return this.RawFragment;
      } catch {
        // fall through to the default encoding
      }
    }
    return urlEscape(this.Fragment, Mode.Fragment);
  }
  RequestURI(): string {
    let result = this.Opaque;
    if (result === "") result = this.EscapedPath() || "/";
    else if (result.startsWith("//")) result = `${this.Scheme}:${result}`;
    if (this.ForceQuery || this.RawQuery !== "") result += `?${this.RawQuery}`;
    return result;
  }
  Query(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const part of this.RawQuery.split("&")) {
      if (part === "" || part.includes(";")) continue;
      const eq = part.indexOf("=");
      try {
        const key = urlUnescape(eq < 0 ? part : part.slice(0, eq), Mode.QueryComponent);
        const value = urlUnescape(eq < 0 ? "" : part.slice(eq + 1), Mode.QueryComponent);
        out[key] ??= typedList("[]string", []);
        out[key].push(value);
      } catch {
        // url.ParseQuery drops a pair it cannot decode
      }
    }
    return typedMap("url.Values", out);
  }
  Redacted(): string {
    if (this.User === null || !this.User.hasPassword()) return this.String();
    const copy = Object.assign(new GoURL(), this);
    copy.User = new GoUserinfo(this.User.Username(), "xxxxx");
    return copy.String();
  }
  String(): string {
    let s = this.Scheme === "" ? "" : `${this.Scheme}:`;
    if (this.Opaque !== "") s += this.Opaque;
    else {
      if (this.Scheme !== "" || this.Host !== "" || this.User !== null) {
        if (this.Host !== "" || this.Path !== "" || this.User !== null) s += "//";
        if (this.User !== null) s += `${this.User.String()}@`;
        if (this.Host !== "") s += urlEscape(this.Host, Mode.Host);
      }
      const path = this.EscapedPath();
      if (path !== "" && path[0] !== "/" && this.Host !== "") s += "/";
      if (s === "" && (path.split("/")[0] as string).includes(":")) s += "./";
      s += path;
    }
    if (this.ForceQuery || this.RawQuery !== "") s += `?${this.RawQuery}`;
    if (this.Fragment !== "") s += `#${this.EscapedFragment()}`;
    return s;
  }
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ["", raw];
      continue;
    }
    if (c === ":") {
      if (i === 0) throw new Invalid("missing protocol scheme");
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ["", raw];
  }
  return ["", raw];
}

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const i = host.lastIndexOf("]");
    if (i < 0) throw new Invalid("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort))
      throw new Invalid(`invalid port ${quote(colonPort)} after host`);
    const zone = host.slice(0, i).indexOf("%25");
    if (zone >= 0) {
      return (
        urlUnescape(host.slice(0, zone), Mode.Host) +
        urlUnescape(host.slice(zone, i), Mode.Zone) +
        urlUnescape(host.slice(i), Mode.Host)
      );
    }
  } else {
    const i = host.lastIndexOf(":");
    if (i !== -1 && !validOptionalPort(host.slice(i))) {
      throw new Invalid(`invalid port ${quote(host.slice(i))} after host`);
    }
  }
  return urlUnescape(host, Mode.Host);
}

function parseAuthority(authority: string): [GoUserinfo | null, string] {
  const at = authority.lastIndexOf("@");
  const host = parseHost(authority.slice(at + 1));
  if (at < 0) return [null, host];
  const info = authority.slice(0, at);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(info))
    throw new Invalid("net/url: invalid userinfo");
  const colon = info.indexOf(":");
  if (colon < 0) return [new GoUserinfo(urlUnescape(info, Mode.UserPassword), undefined), host];
  return [
    new GoUserinfo(
      urlUnescape(info.slice(0, colon), Mode.UserPassword),
      urlUnescape(info.slice(colon + 1), Mode.UserPassword),
    ),
    host,
  ];
}

function setPath(u: GoURL, p: string): void {
  u.Path = urlUnescape(p, Mode.Path);
  u.RawPath = urlEscape(u.Path, Mode.Path) === p ? "" : p;
}

function parseNoFragment(raw: string): GoURL {
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new Invalid("net/url: invalid control character in URL");
  const u = new GoURL();
  if (raw === "*") {
    u.Path = "*";
    return u;
  }
  let [scheme, rest] = getScheme(raw);
  u.Scheme = scheme.toLowerCase();
  if (rest.endsWith("?") && rest.split("?").length === 2) {
    u.ForceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      u.RawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith("/")) {
    if (u.Scheme !== "") {
      u.Opaque = rest;
      return u;
    }
    if ((rest.split("/")[0] as string).includes(":")) {
      throw new Invalid("first path segment in URL cannot contain colon");
    }
  }
  if ((u.Scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    [u.User, u.Host] = parseAuthority(authority);
  }
  setPath(u, rest);
  return u;
}

/** url.Parse; throws UrlError with Go's text. */
export function parseUrl(raw: string): GoURL {
  const hash = raw.indexOf("#");
  const head = hash < 0 ? raw : raw.slice(0, hash);
  let u: GoURL;
  try {
    u = parseNoFragment(head);
  } catch (err) {
    if (err instanceof Invalid) throw new UrlError("parse", head, err.message);
    throw err;
  }
  const frag = hash < 0 ? "" : raw.slice(hash + 1);
  if (frag === "") return u;
  try {
    u.Fragment = urlUnescape(frag, Mode.Fragment);
    u.RawFragment = urlEscape(u.Fragment, Mode.Fragment) === frag ? "" : frag;
  } catch (err) {
    if (err instanceof Invalid) throw new UrlError("parse", raw, err.message);
    throw err;
  }
  return u;
}
