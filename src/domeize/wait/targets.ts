// -wait URLs and -wait-http-header values, validated up front.

import { FlagError } from "../../goflag/flags.js";

export type WaitTarget =
  | { kind: "tcp"; url: string; network: "tcp" | "tcp4" | "tcp6"; host: string; port: number }
  | { kind: "unix"; url: string; path: string }
  | { kind: "file"; url: string; path: string }
  | { kind: "http"; url: string };

export interface WaitHeader {
  readonly name: string;
  readonly value: string;
}

const SCHEMES = "tcp, tcp4, tcp6, unix, file, http, https";

function localPath(u: URL, raw: string): string {
  const path = decodeURIComponent(u.host + u.pathname);
  if (path === "") throw new FlagError(`bad -wait ${raw}: no path`);
  return path;
}

export function parseWaitTarget(raw: string): WaitTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FlagError(`bad -wait "${raw}": not a URL (expected e.g. tcp://db:5432)`);
  }
  const scheme = u.protocol.slice(0, -1);
  switch (scheme) {
    case "tcp":
    case "tcp4":
    case "tcp6": {
      const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(u.port);
      if (host === "" || u.port === "" || !(port > 0 && port < 65536)) {
        throw new FlagError(`bad -wait "${raw}": expected ${scheme}://host:port`);
      }
      return { kind: "tcp", url: raw, network: scheme, host, port };
    }
    case "unix":
      return { kind: "unix", url: raw, path: localPath(u, raw) };
    case "file":
      return { kind: "file", url: raw, path: localPath(u, raw) };
    case "http":
    case "https":
      if (u.hostname === "") throw new FlagError(`bad -wait "${raw}": no host`);
      return { kind: "http", url: raw };
    default:
      throw new FlagError(
        `bad -wait "${raw}": unsupported scheme "${scheme}" (supported: ${SCHEMES})`,
      );
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseWaitHeader(raw: string): WaitHeader {
  const colon = raw.indexOf(":");
  if (colon < 0) throw new FlagError(`bad -wait-http-header "${raw}": expected "Name: value"`);
  const name = raw.slice(0, colon).trim();
  const value = raw.slice(colon + 1).trim();
  if (!TOKEN.test(name)) throw new FlagError(`bad -wait-http-header "${raw}": invalid header name`);
  if (/[\r\n\0]/.test(value)) {
    throw new FlagError(`bad -wait-http-header "${raw}": control characters in the value`);
  }
  return { name, value };
}
