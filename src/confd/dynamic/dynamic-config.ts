// A template resource's `dynamic_endpoints` table (docs/nginx-dynamic.md):
//
//   [template.dynamic_endpoints]
//   endpoint = "http://127.0.0.1:9180/members"   # or "unix:/run/nginx/members.sock"
//   secret_file = "/etc/nginx/domeos-members.secret"
//   upstreams = ["img_cs_group"]                 # optional: default every upstream of the file
//   verify_interval = "1s"                       # optional: how often nginx's lists are checked
//
// Validated here: the endpoint must be loopback or a unix socket (the
// secret travels in clear), the secret file must be readable.

import { accessSync, constants } from "node:fs";
import { isAbsolute } from "node:path";
import { mustParseDuration } from "../../golib/duration.js";

export interface DynamicEndpointsConfig {
  /** Base URL of the member endpoint (http://127.0.0.1:PORT/members), requests go to <url>/<upstream>. */
  url: string;
  /** Set for a unix-socket endpoint. */
  socketPath?: string;
  secretFile: string;
  /** Upstream names to make dynamic; undefined: every upstream block of the rendered file. */
  upstreams?: string[];
  verifyIntervalMs: number;
}

const KNOWN = new Set(["endpoint", "secret_file", "upstreams", "verify_interval"]);
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;

export function dynamicEndpointsOf(
  v: unknown,
  fail: (key: string, msg: string) => never,
): DynamicEndpointsConfig | undefined {
  if (v === undefined) return undefined;
  const key = "dynamic_endpoints";
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return fail(
      key,
      `expected a table { endpoint = "...", secret_file = "..." }, got ${JSON.stringify(v)}`,
    );
  const t = v as Record<string, unknown>;
  for (const k of Object.keys(t))
    if (!KNOWN.has(k)) fail(`${key}.${k}`, `unknown key (known: ${[...KNOWN].join(", ")})`);
  const endpoint = t.endpoint;
  if (typeof endpoint !== "string" || endpoint === "")
    return fail(
      `${key}.endpoint`,
      `expected "http://127.0.0.1:PORT/members" or "unix:/path.sock", got ${JSON.stringify(endpoint)}`,
    );
  const where = endpointOf(endpoint, (m) => fail(`${key}.endpoint`, m));
  const secretFile = t.secret_file;
  if (typeof secretFile !== "string" || !isAbsolute(secretFile))
    return fail(
      `${key}.secret_file`,
      `expected an absolute path, got ${JSON.stringify(secretFile)}`,
    );
  try {
    accessSync(secretFile, constants.R_OK);
  } catch (err) {
    return fail(`${key}.secret_file`, `cannot read ${secretFile}: ${(err as Error).message}`);
  }
  const ups = t.upstreams;
  if (
    ups !== undefined &&
    (!Array.isArray(ups) || !ups.every((u) => typeof u === "string" && /^[\w.-]{1,200}$/.test(u)))
  )
    return fail(
      `${key}.upstreams`,
      `expected an array of upstream names, got ${JSON.stringify(ups)}`,
    );
  let verifyIntervalMs = 1000;
  if (t.verify_interval !== undefined) {
    try {
      if (typeof t.verify_interval !== "string")
        throw new Error('expected a duration string such as "1s"');
      verifyIntervalMs = mustParseDuration(t.verify_interval);
    } catch (err) {
      return fail(`${key}.verify_interval`, (err as Error).message);
    }
    if (verifyIntervalMs < 100 || verifyIntervalMs > 60_000)
      return fail(`${key}.verify_interval`, "must be between 100ms and 1m");
  }
  return { ...where, secretFile, upstreams: ups as string[] | undefined, verifyIntervalMs };
}

function endpointOf(
  endpoint: string,
  fail: (m: string) => never,
): { url: string; socketPath?: string } {
  if (endpoint.startsWith("unix:")) {
    const socketPath = endpoint.slice("unix:".length);
    if (!isAbsolute(socketPath))
      return fail(`the socket must be an absolute path, got ${JSON.stringify(endpoint)}`);
    return { url: "http://localhost/members", socketPath };
  }
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return fail(`not a URL: ${JSON.stringify(endpoint)}`);
  }
  if (u.protocol !== "http:")
    return fail(`must be http:// on loopback or unix:/path, got ${u.protocol}`);
  if (!LOOPBACK.test(u.hostname))
    return fail(
      `must be a loopback address (127.0.0.1, [::1], localhost) or a unix socket: the secret is sent in clear; got ${u.hostname}`,
    );
  return { url: endpoint.replace(/\/+$/, "") };
}
