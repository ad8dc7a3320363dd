// `domeos-server deploy ...`: a thin client of the admin API.
import { parseArgs } from "node:util";
import { DEPLOY_HELP } from "../config/help.js";

const OPTIONS = {
  server: { type: "string" },
  "admin-token": { type: "string" },
  namespace: { type: "string", short: "n" },
  cluster: { type: "string" },
  image: { type: "string" },
  command: { type: "string" },
  replicas: { type: "string" },
  network: { type: "string" },
  ports: { type: "string" },
  template: { type: "string", multiple: true },
  access: { type: "string" },
  env: { type: "string", multiple: true },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Run a deploy subcommand; returns the exit code. */
export async function deployCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`domeos-server deploy: ${(err as Error).message}\n\n${DEPLOY_HELP}`);
    return 2;
  }
  const { values: v, positionals: pos } = parsed;
  const [cmd, ...args] = pos;
  if (v.help || cmd === undefined || cmd === "help") {
    io.out(DEPLOY_HELP);
    return v.help || cmd === "help" ? 0 : 2;
  }
  const server = (v.server ?? io.env.DOMEOS_SERVER ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  const token = v["admin-token"] ?? io.env.DOMEOS_ADMIN_TOKEN;
  if (!token) {
    io.err(
      "domeos-server deploy: no admin token: pass --admin-token or set DOMEOS_ADMIN_TOKEN (the server prints it at startup)\n",
    );
    return 2;
  }
  const ns = v.namespace ?? "default";
  const q = v.cluster ? `?cluster=${encodeURIComponent(v.cluster)}` : "";
  const one = (name: string | undefined) => {
    if (!name) throw new UsageError(`"${cmd}" needs the deployment NAME`);
    return `${server}/api/deployments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  };
  try {
    switch (cmd) {
      case "create":
        return await call(
          io,
          token,
          "POST",
          `${server}/api/deployments${q}`,
          createBody(args[0], ns, v),
        );
      case "list":
        return await call(
          io,
          token,
          "GET",
          `${server}/api/deployments?${new URLSearchParams(v.namespace ? { namespace: ns, ...(v.cluster ? { cluster: v.cluster } : {}) } : v.cluster ? { cluster: v.cluster } : {})}`,
        );
      case "get":
        return await call(io, token, "GET", one(args[0]) + q);
      case "scale": {
        const n = Number(args[1]);
        if (args[1] === undefined || !Number.isInteger(n))
          throw new UsageError('"scale" needs NAME and REPLICAS (an integer)');
        return await call(io, token, "PATCH", one(args[0]) + q, { replicas: n });
      }
      case "delete":
        return await call(io, token, "DELETE", one(args[0]) + q);
      case "manifest": {
        const fmt = new URLSearchParams({
          format: v.format ?? "yaml",
          ...(v.cluster ? { cluster: v.cluster } : {}),
        });
        return await call(io, token, "GET", `${one(args[0])}/manifest?${fmt}`, undefined, true);
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`domeos-server deploy: ${err.message}\n\n${DEPLOY_HELP}`);
      return 2;
    }
    io.err(`domeos-server deploy: cannot reach ${server}: ${(err as Error).message}\n`);
    return 1;
  }
}

class UsageError extends Error {}

function createBody(
  name: string | undefined,
  ns: string,
  v: Record<string, unknown>,
): Record<string, unknown> {
  if (!name) throw new UsageError('"create" needs the deployment NAME');
  const body: Record<string, unknown> = { name, namespace: ns };
  if (v.cluster) body.cluster = v.cluster;
  if (v.image) body.image = v.image;
  if (v.command) body.command = ["/bin/sh", "-c", v.command];
  const num = (k: string) => {
    const n = Number(v[k]);
    if (!Number.isInteger(n))
      throw new UsageError(`--${k} must be an integer, got ${JSON.stringify(v[k])}`);
    return n;
  };
  if (v.replicas !== undefined) body.replicas = num("replicas");
  if (v.ports !== undefined) body.ports = num("ports");
  if (v.network) body.networkMode = String(v.network).toUpperCase();
  if (v.access) body.accessType = String(v.access).toUpperCase();
  if (v.template) body.templates = v.template;
  if (v.env) {
    const env: Record<string, string> = {};
    for (const e of v.env as string[]) {
      const i = e.indexOf("=");
      if (i <= 0) throw new UsageError(`--env ${JSON.stringify(e)} must be NAME=VALUE`);
      env[e.slice(0, i)] = e.slice(i + 1);
    }
    body.env = env;
  }
  return body;
}

async function call(
  io: CliIo,
  token: string,
  method: string,
  url: string,
  body?: unknown,
  raw = false,
): Promise<number> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.ok && raw && !res.headers.get("content-type")?.includes("json")) {
    io.out(text);
    return 0;
  }
  let parsed: { resultMsg?: string; result?: unknown } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: show as is
  }
  if (!res.ok) {
    io.err(
      `domeos-server deploy: ${method} ${url}: HTTP ${res.status}: ${parsed.resultMsg ?? text}\n`,
    );
    return 1;
  }
  io.out(`${JSON.stringify(parsed.result ?? null, null, 2)}\n`);
  return 0;
}
