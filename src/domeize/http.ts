// One small HTTP client for the report, the allocation endpoint and http
// waits: a hard per-request timeout, a bounded response body, and plain
// HTTP proxies from HTTP_PROXY/NO_PROXY as Go's default client honours them.
// node:http/https load lazily (startup time matters).

import type { IncomingMessage, RequestOptions } from "node:http";

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBody?: number;
}

/** Connection-level failure (refused, reset, timeout, DNS): worth a retry. */
export class HttpTransportError extends Error {
  override name = "HttpTransportError";
}

function noProxy(host: string, env: NodeJS.ProcessEnv): boolean {
  const list = env.NO_PROXY ?? env.no_proxy ?? "";
  return list.split(",").some((raw) => {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, "");
    if (entry === "") return false;
    if (entry === "*") return true;
    const bare = entry.replace(/^\*?\./, "");
    return host === bare || host.endsWith(`.${bare}`);
  });
}

function route(u: URL, env: NodeJS.ProcessEnv): { host: string; port: string; path: string } {
  const proxy = u.protocol === "http:" ? (env.HTTP_PROXY ?? env.http_proxy ?? "") : "";
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (proxy !== "" && host !== "localhost" && !host.startsWith("127.") && !noProxy(host, env)) {
    try {
      const p = new URL(proxy.includes("://") ? proxy : `http://${proxy}`);
      return { host: p.hostname, port: p.port || "80", path: u.href };
    } catch {
      // a malformed proxy variable is ignored, as Go does for unparsable values
    }
  }
  return { host, port: u.port, path: u.pathname + u.search };
}

/**
 * A built-in module, loaded on first use. process.getBuiltinModule (Node
 * >= 20.16) rather than import(): the bundle runs from V8's code cache,
 * and Node 20 cannot run import() in code restored from a cache.
 */
async function builtin<K extends "node:http" | "node:https">(
  id: K,
): Promise<K extends "node:http" ? typeof import("node:http") : typeof import("node:https")> {
  type M = K extends "node:http" ? typeof import("node:http") : typeof import("node:https");
  if (typeof process.getBuiltinModule === "function") return process.getBuiltinModule(id) as M;
  return (id === "node:http"
    ? await import("node:http")
    : await import("node:https")) as unknown as M;
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const u = new URL(req.url);
  const mod = u.protocol === "https:" ? await builtin("node:https") : await builtin("node:http");
  const r = route(u, process.env);
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(req.body));
  const opts: RequestOptions = {
    method: req.method,
    host: r.host,
    port: r.port,
    path: r.path,
    headers: { Host: u.host, ...headers },
    agent: false,
  };
  const max = req.maxBody ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const request = mod.request(opts, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= max) chunks.push(c);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", (e) => reject(new HttpTransportError(e.message)));
    });
    // A total deadline, not an idle timeout: a server that trickles bytes
    // must not hold domeize longer than timeoutMs either.
    const timer = setTimeout(
      () => request.destroy(new HttpTransportError(`no answer within ${req.timeoutMs}ms`)),
      req.timeoutMs,
    );
    request.on("close", () => clearTimeout(timer));
    request.on("error", (e: NodeJS.ErrnoException) =>
      reject(e instanceof HttpTransportError ? e : new HttpTransportError(e.code ?? e.message)),
    );
    request.end(req.body);
  });
}
