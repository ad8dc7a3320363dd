// parseUrl: Go's *url.URL as a template value (fields and the methods
// templates use: Hostname, Port, String, RequestURI, Query).

import { FuncError, GoStruct, typedList, typedMap } from "../../gotemplate/value.js";

const RFC3986 = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/;

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
  String(): string {
    return this.pass === undefined ? this.user : `${this.user}:${this.pass}`;
  }
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
    const h = this.Host.replace(/:\d*$/, "");
    return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  }
  Port(): string {
    const m = /:(\d*)$/.exec(this.Host);
    return m === null ? "" : m[1];
  }
  RequestURI(): string {
    const p = this.Opaque !== "" ? this.Opaque : this.Path === "" ? "/" : this.Path;
    return this.RawQuery === "" ? p : `${p}?${this.RawQuery}`;
  }
  Query(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const part of this.RawQuery.split("&")) {
      if (part === "") continue;
      const [k, v = ""] = part.split("=", 2);
      const key = safeDecode(k.replace(/\+/g, " "));
      out[key] ??= typedList("[]string", []);
      out[key].push(safeDecode(v.replace(/\+/g, " ")));
    }
    return typedMap("url.Values", out);
  }
  String(): string {
    let s = this.Scheme === "" ? "" : `${this.Scheme}:`;
    if (this.Opaque !== "") s += this.Opaque;
    else {
      if (this.Host !== "" || this.User !== null) {
        s += "//";
        if (this.User !== null) s += `${this.User.String()}@`;
        s += this.Host;
      }
      s += this.Path;
    }
    if (this.RawQuery !== "" || this.ForceQuery) s += `?${this.RawQuery}`;
    if (this.Fragment !== "") s += `#${this.Fragment}`;
    return s;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseGoUrl(raw: string): GoURL {
  const m = RFC3986.exec(raw);
  if (m === null || /[\x00-\x1f\x7f]/.test(raw)) {
    throw new FuncError(`parse ${JSON.stringify(raw)}: net/url: invalid control character in URL`);
  }
  const [, scheme, authority, path, query, fragment] = m;
  if (raw.startsWith(":"))
    throw new FuncError(`parse ${JSON.stringify(raw)}: missing protocol scheme`);
  const u = new GoURL();
  u.Scheme = (scheme ?? "").toLowerCase();
  if (authority !== undefined) {
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const info = authority.slice(0, at);
      const colon = info.indexOf(":");
      u.User =
        colon < 0
          ? new GoUserinfo(safeDecode(info), undefined)
          : new GoUserinfo(safeDecode(info.slice(0, colon)), safeDecode(info.slice(colon + 1)));
    }
    u.Host = authority.slice(at + 1);
    u.Path = safeDecode(path);
  } else if (scheme !== undefined && !path.startsWith("/")) {
    u.Opaque = path;
  } else {
    u.Path = safeDecode(path);
  }
  u.RawQuery = query ?? "";
  u.ForceQuery = query === "" && raw.includes("?");
  u.Fragment = safeDecode(fragment ?? "");
  return u;
}
