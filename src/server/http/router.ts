// A tiny method+path router. Patterns use ":name" segments; each route has a
// stable name used as the metrics label (never the raw path, which would
// explode label cardinality).
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, HttpError } from "./errors.js";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export interface Route {
  method: string;
  pattern: string;
  /** Metrics/log label, e.g. "agent_annotation". */
  name: string;
  handler: Handler;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: { route: Route; parts: string[] }[] = [];

  add(method: string, pattern: string, name: string, handler: Handler): this {
    this.routes.push({ route: { method, pattern, name, handler }, parts: split(pattern) });
    return this;
  }

  /** The matching route; 404 if no pattern matches, 405 if only the method differs. */
  match(method: string, pathname: string): Match {
    const segs = split(pathname).map(decodeSegment);
    let pathMatched = false;
    for (const { route, parts } of this.routes) {
      const params = matchParts(parts, segs);
      if (!params) continue;
      if (route.method === method) return { route, params };
      pathMatched = true;
    }
    if (pathMatched) throw new HttpError(405, `method ${method} is not allowed on ${pathname}`);
    throw new HttpError(404, `no such endpoint: ${method} ${pathname}`);
  }
}

function split(path: string): string[] {
  const parts = path.split("/");
  // "/a/b" -> ["", "a", "b"]: drop the leading empty part only, so "//" and a
  // trailing "/" keep their empty segments and never match a ":param".
  return parts.slice(1);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`path segment ${JSON.stringify(s)} is not valid percent-encoding`);
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | null {
  if (parts.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const s = segs[i]!;
    if (p.startsWith(":")) {
      params[p.slice(1)] = s;
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}
