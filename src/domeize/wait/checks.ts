// One check of one dependency: resolves with null when it is up, or a short
// reason when it is down. Never throws.

import { stat } from "node:fs/promises";
import { connect } from "node:net";
import { HttpTransportError, httpRequest } from "../http.js";
import type { WaitHeader, WaitTarget } from "./targets.js";

function dial(
  opts: { host?: string; port?: number; path?: string; family?: number },
  timeoutMs: number,
): Promise<string | null> {
  return new Promise((resolve) => {
    const sock =
      opts.path !== undefined
        ? connect({ path: opts.path })
        : connect({ host: opts.host!, port: opts.port!, family: opts.family });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve("connect timeout");
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(null);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(err.code ?? err.message);
    });
  });
}

// Redirects are followed as Go's http.Client does (dockerize's and the
// original's default client): up to 10, then "stopped after 10 redirects";
// the -wait-http-header headers go along, except Authorization and Cookie
// when the redirect leaves the host (and its subdomains).
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const SENSITIVE = new Set(["authorization", "www-authenticate", "cookie", "cookie2"]);

/** Go's shouldCopyHeaderOnRedirect: same host, or a subdomain of the first one. */
function sameDomain(first: URL, next: URL): boolean {
  const a = first.hostname.toLowerCase();
  const b = next.hostname.toLowerCase();
  return a === b || b.endsWith(`.${a}`);
}

async function checkHttp(
  url: string,
  headers: readonly WaitHeader[],
  timeoutMs: number,
): Promise<string | null> {
  const first = new URL(url);
  let current = first;
  try {
    for (let hops = 0; ; hops++) {
      const keep = sameDomain(first, current);
      const sent = headers.filter((h) => keep || !SENSITIVE.has(h.name.toLowerCase()));
      const res = await httpRequest({
        method: "GET",
        url: current.href,
        headers: Object.fromEntries(sent.map((h) => [h.name, h.value])),
        timeoutMs,
        maxBody: 4096,
      });
      const location = res.location;
      if (!REDIRECTS.has(res.status) || location === undefined || location === "") {
        return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
      }
      if (hops + 1 >= MAX_REDIRECTS) return `stopped after ${MAX_REDIRECTS} redirects`;
      current = new URL(location, current);
      if (current.protocol !== "http:" && current.protocol !== "https:") {
        return `redirect to unsupported protocol ${current.protocol}`;
      }
    }
  } catch (err) {
    if (err instanceof HttpTransportError) return err.message;
    return err instanceof TypeError ? `bad redirect: ${err.message}` : String(err);
  }
}

export async function checkOnce(
  t: WaitTarget,
  headers: readonly WaitHeader[],
  timeoutMs: number,
): Promise<string | null> {
  switch (t.kind) {
    case "tcp": {
      const family = t.network === "tcp4" ? 4 : t.network === "tcp6" ? 6 : 0;
      return dial({ host: t.host, port: t.port, family }, timeoutMs);
    }
    case "unix":
      return dial({ path: t.path }, timeoutMs);
    case "file":
      try {
        await stat(t.path);
        return null;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? "stat failed";
      }
    case "http":
      return checkHttp(t.url, headers, timeoutMs);
  }
}
