// One check of one dependency: resolves with null when it is up, or a short
// reason when it is down. Never throws.

import { stat } from "node:fs/promises";
import type { Socket } from "node:net";
import { HttpTransportError, httpRequest } from "../http.js";
import { hasMethods } from "../uv.js";
import type { WaitHeader, WaitTarget } from "./targets.js";

interface DialTarget {
  host?: string;
  port?: number;
  path?: string;
  family?: number;
}

async function dialNet(opts: DialTarget, timeoutMs: number): Promise<string | null> {
  // Loaded on first use (startup time; see ../http.ts for getBuiltinModule).
  const { connect } = (
    typeof process.getBuiltinModule === "function"
      ? process.getBuiltinModule("node:net")
      : await import("node:net")
  ) as typeof import("node:net");
  return new Promise((resolve) => {
    const sock: Socket =
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

interface BunDialer {
  connect(o: {
    hostname?: string;
    port?: number;
    unix?: string;
    socket: {
      open(s: { close(): void }): void;
      data(): void;
      connectError(s: unknown, err: Error): void;
      error(s: unknown, err: Error): void;
    };
  }): Promise<{ close(): void }>;
}

/** Bun's sockets (the executable): its node:net costs a start 25-45 ms to load. */
function bunDialer(): BunDialer | undefined {
  const bun = (globalThis as { Bun?: unknown }).Bun;
  return hasMethods(bun, ["connect"]) ? (bun as BunDialer) : undefined;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

function dialBun(bun: BunDialer, opts: DialTarget, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(why);
    };
    const reason = (err: unknown) =>
      (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);
    const timer = setTimeout(() => finish("connect timeout"), timeoutMs);
    bun
      .connect({
        ...(opts.path !== undefined
          ? { unix: opts.path }
          : { hostname: opts.host, port: opts.port }),
        socket: {
          open(s) {
            s.close();
            finish(null);
          },
          data() {},
          connectError: (_s, err) => finish(reason(err)),
          error: (_s, err) => finish(reason(err)),
        },
      })
      .then(
        (s) => {
          if (done) s.close();
        },
        (err) => finish(reason(err)),
      );
  });
}

/**
 * A TCP or unix-socket connection attempt. Under Bun through Bun.connect,
 * except for tcp4/tcp6 with a host name (Bun.connect cannot be told the
 * family; node:net can).
 */
function dial(opts: DialTarget, timeoutMs: number): Promise<string | null> {
  const bun = bunDialer();
  const family = opts.family ?? 0;
  const host = opts.host ?? "";
  const literal = (family === 4 && IPV4.test(host)) || (family === 6 && host.includes(":"));
  if (bun !== undefined && (opts.path !== undefined || family === 0 || literal)) {
    return dialBun(bun, opts, timeoutMs);
  }
  return dialNet(opts, timeoutMs);
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
