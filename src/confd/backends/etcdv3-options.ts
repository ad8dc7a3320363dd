// Validation of the etcdv3 backend's confd options (-node, TLS, basic auth),
// kept apart from the etcd client so a bad flag is reported before any
// heavy module is loaded.

import type { EtcdOptions } from "../../store/etcd.js";
import type { BackendOptions } from "./backend.js";

const DEFAULT_NODE = "127.0.0.1:2379";

/** confd's etcd options as the etcd store takes them; throws naming the bad flag. */
export function etcdOptions(opts: BackendOptions): EtcdOptions {
  const tls = tlsOptions(opts);
  const given = splitNodes(opts.nodes);
  const nodes = given.length > 0 ? given : [DEFAULT_NODE];
  return {
    // host:port nodes: -scheme https, or certificates, mean TLS (-client-insecure alone does not)
    endpoints: nodes.map((n) => endpointUrl(n, opts.scheme === "https" || hasCertificates(opts))),
    tls,
    ...(opts.basicAuth ? { username: opts.username ?? "", password: opts.password ?? "" } : {}),
  };
}

function hasCertificates(opts: BackendOptions): boolean {
  return Boolean(opts.clientCert || opts.clientKey || opts.clientCaKeys);
}

function tlsOptions(opts: BackendOptions): EtcdOptions["tls"] {
  const insecure = opts.clientInsecure === true;
  if (!hasCertificates(opts) && !insecure) return undefined;
  if (Boolean(opts.clientCert) !== Boolean(opts.clientKey)) {
    throw new Error("etcdv3 backend: -client-cert and -client-key must be given together");
  }
  return {
    ca: opts.clientCaKeys,
    cert: opts.clientCert,
    key: opts.clientKey,
    ...(insecure ? { insecure } : {}),
  };
}

/**
 * confd accepts "host:port" or "http(s)://host:port" per -node; a comma list
 * in one -node (as $ETCDCTL_PEERS) is split. Anything else is refused by name.
 */
export function endpointUrl(node: string, tls: boolean): string {
  const raw = node.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)
    ? raw
    : `${tls ? "https" : "http"}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`etcdv3 backend: -node ${JSON.stringify(node)} is not host:port or a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`etcdv3 backend: -node ${JSON.stringify(node)}: scheme must be http or https`);
  }
  if (url.hostname === "" || (url.pathname !== "/" && url.pathname !== "") || url.search) {
    throw new Error(`etcdv3 backend: -node ${JSON.stringify(node)} is not host:port or a URL`);
  }
  return `${url.protocol}//${url.hostname}:${url.port || "2379"}`;
}

/** Split comma lists inside -node values (confd's $ETCDCTL_PEERS form). */
export function splitNodes(nodes: string[]): string[] {
  return nodes.flatMap((n) => n.split(",")).filter((n) => n.trim() !== "");
}
