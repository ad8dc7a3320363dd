// The console's HTTP routes, mounted under /console/ on the standalone
// server:
//   GET /console/                the page (and its app.js, view.js, style.css)
//   GET /console/api/state       one JSON snapshot (see state.ts)
//   GET /console/api/events      the same snapshot, pushed as server-sent events
// The API needs the admin token (Authorization: Bearer, or ?token= for
// EventSource, which cannot send headers). Writes go to the server's admin
// API (/api/deployments) from the page itself, with the same token.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken, tokensEqual } from "../server/auth/pod-token.js";
import { ConsoleEvents } from "./events.js";
import { buildState, type StateSources } from "./state.js";
import { staticFile } from "./static-files.js";

export interface ConsoleOptions extends StateSources {
  adminToken: string;
}

export class Console {
  private readonly events: ConsoleEvents;

  constructor(private readonly o: ConsoleOptions) {
    this.events = new ConsoleEvents(o);
  }

  /** Handle a request if it is the console's; false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://console");
    const path = url.pathname;
    if (path === "/" || path === "/console") {
      res.writeHead(302, { location: "/console/" });
      res.end();
      return true;
    }
    if (!path.startsWith("/console/")) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return this.send(res, 405, { resultMsg: `${req.method} not allowed` });
    }
    const rest = path.slice("/console/".length);
    if (rest.startsWith("api/")) {
      if (!this.authorized(req, url)) {
        return this.send(res, 401, {
          resultMsg: "console API: send the admin token (Authorization: Bearer <token> or ?token=)",
        });
      }
      if (rest === "api/state") return this.send(res, 200, await buildState(this.o));
      if (rest === "api/events" && req.method === "GET") {
        await this.events.attach(res);
        return true;
      }
      return this.send(res, 404, { resultMsg: `no such console endpoint: ${path}` });
    }
    const file = staticFile(rest === "" ? "index.html" : rest);
    if (!file) return this.send(res, 404, { resultMsg: `no such console file: ${path}` });
    res.writeHead(200, {
      "content-type": file.type,
      "content-length": file.body.length,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'self'; style-src 'self'; img-src 'self' data:",
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }

  close(): Promise<void> {
    return this.events.close();
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    const token = bearerToken(req.headers.authorization) ?? url.searchParams.get("token");
    return typeof token === "string" && token !== "" && tokensEqual(token, this.o.adminToken);
  }

  private send(res: ServerResponse, status: number, body: unknown): true {
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    });
    res.end(JSON.stringify(body));
    return true;
  }
}
