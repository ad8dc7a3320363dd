// The standalone server's front door: one address for people (the console
// and the admin API), in front of domeos-server. It serves /console/, adds
// the standalone runtime's checks to deployment creation (so a bad command
// or template path is refused before anything is stored), and forwards
// everything else unchanged. Pods talk to domeos-server directly.
//
// Why a front and not a route inside the server: startServer() has no hook
// for extra routes or runtime-specific validation yet (see docs/standalone.md).
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Console } from "../console/handler.js";
import { standaloneProblems } from "../runtime/deployment-checks.js";
import { DeploymentError, parseDeployment } from "../server/deploy/model.js";

const BODY_LIMIT = 64 * 1024;

export interface Front {
  url: string;
  close(): Promise<void>;
}

export async function startFront(opts: {
  listen: { host: string; port: number };
  backend: string;
  console: Console;
}): Promise<Front> {
  const backend = new URL(opts.backend);
  const server: Server = createServer((req, res) => {
    void route(req, res, backend, opts.console).catch((err) => {
      if (!res.headersSent) envelope(res, 502, `front: ${(err as Error).message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  backend: URL,
  console: Console,
): Promise<void> {
  if (await console.handle(req, res)) return;
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "POST" && path === "/api/deployments") {
    const body = await readBody(req);
    if (body === null) return envelope(res, 413, `request body larger than ${BODY_LIMIT} bytes`);
    const problems = checkCreate(body);
    if (problems.length > 0)
      return envelope(res, 400, `invalid deployment: ${problems.join("; ")}`);
    return forward(req, res, backend, body);
  }
  return forward(req, res, backend, null);
}

/** The server's model problems and the runtime's, reported together. */
function checkCreate(body: Buffer): string[] {
  let input: unknown;
  try {
    input = JSON.parse(body.toString("utf8"));
  } catch {
    return []; // the server explains malformed JSON itself
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) return [];
  const problems: string[] = [];
  try {
    parseDeployment(input);
  } catch (err) {
    if (err instanceof DeploymentError) problems.push(...err.problems);
  }
  return [...problems, ...standaloneProblems(input as Record<string, unknown>)];
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= BODY_LIMIT) chunks.push(c);
    });
    req.on("end", () => resolve(size > BODY_LIMIT ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  backend: URL,
  body: Buffer | null,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: backend.host };
    if (body) headers["content-length"] = String(body.length);
    const up = request(
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on("end", () => resolve());
        upRes.on("error", reject);
      },
    );
    up.on("error", reject);
    if (body) up.end(body);
    else req.pipe(up);
  });
}

function envelope(res: ServerResponse, status: number, msg: string): void {
  const text = JSON.stringify({ resultCode: status, resultMsg: msg, result: null });
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(text);
}
