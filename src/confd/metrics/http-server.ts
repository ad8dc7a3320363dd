// The optional listener for /metrics (Prometheus text) and /healthz (JSON;
// 200 when the backend view is current and every resource's last render
// succeeded, else 503). GET only; nothing else is served.

import { createServer, type Server } from "node:http";
import type { ConfdMetrics } from "./metrics.js";

export interface HealthSource {
  health(): { healthy: boolean };
}

/** "127.0.0.1:9101", ":9101" (all interfaces, as Go), "[::1]:9101". */
export function parseListenAddr(addr: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(`invalid -metrics-addr ${JSON.stringify(addr)}: expected host:port`);
  const host = m[1] ?? m[2];
  return { host: host === "" ? undefined : host, port };
}

export async function startHttpServer(
  addr: string,
  metrics: ConfdMetrics,
  source: HealthSource,
): Promise<Server> {
  const { host, port } = parseListenAddr(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET" }).end();
      return;
    }
    if (path === "/metrics") {
      // Refreshes the watch-state gauges from the backend at scrape time.
      source.health();
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        (err) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (path === "/healthz") {
      const h = source.health();
      res
        .writeHead(h.healthy ? 200 : 503, { "content-type": "application/json" })
        .end(`${JSON.stringify(h, null, 2)}\n`);
      return;
    }
    res
      .writeHead(404, { "content-type": "text/plain" })
      .end("not found: try /metrics or /healthz\n");
  });
  server.requestTimeout = 10000;
  server.headersTimeout = 10000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
