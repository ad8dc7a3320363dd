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

async function checkHttp(
  url: string,
  headers: readonly WaitHeader[],
  timeoutMs: number,
): Promise<string | null> {
  try {
    const res = await httpRequest({
      method: "GET",
      url,
      headers: Object.fromEntries(headers.map((h) => [h.name, h.value])),
      timeoutMs,
      maxBody: 4096,
    });
    return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
  } catch (err) {
    return err instanceof HttpTransportError ? err.message : String(err);
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
