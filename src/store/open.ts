// One string selects a store, so flags, env and config files all say the same:
//
//   etcd://host:port[,host:port]       etcd over plain HTTP/2
//   etcds://host:port[,host:port]      etcd over TLS
//   http(s)://host:port[,http(s)://host:port]   etcd, the endpoint form etcdctl uses
//     query: ?ca=FILE&cert=FILE&key=FILE&username=U&password=P&dialTimeout=MS&callTimeout=MS
//     (the password may also come from ETCD_PASSWORD, which keeps it out of `ps`)
//   embedded:/path/to/dir  or a plain directory path    embedded SQLite store
//   kubernetes:  [?kubeconfig=FILE&context=NAME&timeout=MS]   Kubernetes API (in-cluster or kubeconfig)
//     &others=URL   keys outside /registry/pods/ (the port ledger) go to that etcd/embedded store

import { EmbeddedStore } from "./embedded.js";
import { EtcdStore } from "./etcd.js";
import { PrefixRoutedStore } from "./routed.js";
import type { Store } from "./store.js";

export class StoreUrlError extends Error {
  override name = "StoreUrlError";
  constructor(url: string, why: string) {
    super(
      `store URL ${JSON.stringify(url)}: ${why} (expected etcd://host:port[,host:port], ` +
        "http(s)://host:port, embedded:/dir, a directory path, or kubernetes:)",
    );
  }
}

export async function openStore(url: string): Promise<Store> {
  if (typeof url !== "string" || url.trim() === "") {
    throw new StoreUrlError(String(url), "empty");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "etcd":
    case "etcds":
    case "http":
    case "https":
      return new EtcdStore(parseEtcdUrl(url));
    case "embedded":
      return new EmbeddedStore(embeddedPath(url));
    case "kubernetes":
      return openKubernetes(url);
    case undefined:
      return new EmbeddedStore(url);
    default:
      // "C:\dir" style paths have a one-letter "scheme".
      if (scheme.length === 1) return new EmbeddedStore(url);
      throw new StoreUrlError(url, `unknown scheme "${scheme}:"`);
  }
}

/** kubernetes:[?kubeconfig=..&context=..&timeout=..][&others=<etcd or embedded URL>] */
async function openKubernetes(url: string): Promise<Store> {
  const { KubernetesStore } = await import("./kubernetes.js");
  const [base, query = ""] = splitOnce(url, "?");
  const params = new URLSearchParams(query);
  const others = params.get("others");
  params.delete("others");
  if (others !== null && (others === "" || /^kubernetes:/i.test(others))) {
    throw new StoreUrlError(url, "others= must name an etcd or embedded store for non-pod keys");
  }
  const pods = KubernetesStore.fromUrl(params.size > 0 ? `${base}?${params}` : base);
  if (others === null) return pods;
  try {
    return new PrefixRoutedStore("/registry/pods/", pods, await openStore(others));
  } catch (err) {
    await pods.close();
    throw err;
  }
}

function embeddedPath(url: string): string {
  const path = url.slice("embedded:".length).replace(/^\/\/(?=\/)/, "");
  if (path === "")
    throw new StoreUrlError(url, "embedded: needs a directory, e.g. embedded:/var/lib/domeos");
  return path;
}

export function parseEtcdUrl(url: string): import("./etcd.js").EtcdOptions {
  const [hostsPart, query = ""] = splitOnce(url, "?");
  const params = new URLSearchParams(query);
  const endpoints = hostsPart.split(",").map((h, i) => endpointOf(h.trim(), i, url, hostsPart));
  const known = new Set([
    "ca",
    "cert",
    "key",
    "username",
    "password",
    "dialTimeout",
    "callTimeout",
  ]);
  for (const k of params.keys()) {
    if (!known.has(k)) throw new StoreUrlError(url, `unknown parameter "${k}"`);
  }
  const opt = (k: string) => params.get(k) ?? undefined;
  return {
    endpoints,
    tls: { ca: opt("ca"), cert: opt("cert"), key: opt("key") },
    username: opt("username"),
    password: opt("password") ?? (opt("username") ? process.env.ETCD_PASSWORD : undefined),
    dialTimeoutMs: msParam(params, "dialTimeout", url),
    callTimeoutMs: msParam(params, "callTimeout", url),
  };
}

/** "etcd://a:1,b:2": the first host carries the scheme, the rest may or may not. */
function endpointOf(h: string, i: number, url: string, all: string): string {
  const firstScheme = /^([a-z]+):\/\//i.exec(all)?.[1]?.toLowerCase();
  const m = /^(?:([a-z]+):\/\/)?([^/:?#\s]+|\[[0-9a-f:]+\]):(\d{1,5})\/?$/i.exec(h);
  if (!m) throw new StoreUrlError(url, `endpoint ${i + 1} "${h}" is not host:port`);
  const scheme = (m[1] ?? firstScheme)!.toLowerCase();
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new StoreUrlError(url, `port ${m[3]} is out of range`);
  const tls = scheme === "https" || scheme === "etcds";
  if (!["http", "https", "etcd", "etcds"].includes(scheme)) {
    throw new StoreUrlError(url, `endpoint ${i + 1} has scheme "${scheme}:"`);
  }
  return `${tls ? "https" : "http"}://${m[2]}:${port}`;
}

function msParam(params: URLSearchParams, name: string, url: string): number | undefined {
  const v = params.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,7}$/.test(v) || Number(v) < 1) {
    throw new StoreUrlError(url, `${name} must be a positive number of milliseconds, got "${v}"`);
  }
  return Number(v);
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}
