// confd's `etcdv3` backend (and `etcd`, which confd also serves with the v3
// client): the project's etcd store, mirrored in memory by StoreMirror.
// Flags as confd: -node (repeatable, scheme optional, default
// 127.0.0.1:2379), -client-cert/-client-key/-client-ca-keys for TLS,
// -basic-auth with -username/-password.

import { EtcdStore } from "../../store/etcd.js";
import { CompactedError, type KeyValue, StoreUnavailableError } from "../../store/store.js";
import type { BackendOptions } from "./backend.js";
import { StoreMirror } from "./store-mirror.js";

const DEFAULT_NODE = "127.0.0.1:2379";

/** Build the etcd v3 backend from confd's options. Throws on a malformed -node. */
export function createEtcdV3Backend(opts: BackendOptions): StoreMirror {
  const tls = tlsOptions(opts);
  const given = splitNodes(opts.nodes);
  const nodes = given.length > 0 ? given : [DEFAULT_NODE];
  const endpoints = nodes.map((n) => endpointUrl(n, tls !== undefined));
  const store = new EtcdStore({
    endpoints,
    tls,
    ...(opts.basicAuth ? { username: opts.username ?? "", password: opts.password ?? "" } : {}),
  });
  return new StoreMirror(store, {
    name: "etcdv3",
    watch: opts.watch ?? true,
    log: opts.log,
    ownsStore: true,
    readAt: (key, revision) => readAt(store, key, revision),
  });
}

/** A key as of a past revision: lets the mirror tell a restarted etcd from a replaced one. */
async function readAt(store: EtcdStore, key: string, revision: number): Promise<KeyValue | null> {
  try {
    const res = await store.client.kv.range(
      { key: Buffer.from(key), revision },
      { deadline: Date.now() + 3000 },
    );
    const kv = res.kvs[0];
    if (!kv) return null;
    return {
      key,
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/compacted/i.test(msg)) throw new CompactedError(0, `${store.description}: ${msg}`);
    throw new StoreUnavailableError(`${store.description}: read ${key} at ${revision}: ${msg}`);
  }
}

function tlsOptions(
  opts: BackendOptions,
): { ca?: string; cert?: string; key?: string } | undefined {
  if (!opts.clientCert && !opts.clientKey && !opts.clientCaKeys) return undefined;
  if (Boolean(opts.clientCert) !== Boolean(opts.clientKey)) {
    throw new Error("etcdv3 backend: -client-cert and -client-key must be given together");
  }
  return { ca: opts.clientCaKeys, cert: opts.clientCert, key: opts.clientKey };
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
