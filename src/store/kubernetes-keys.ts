// Store keys <-> Kubernetes pod API paths. Only pod keys exist in this
// backend; names are validated (DNS-1123) before they go into a URL, so a key
// can never reach another resource or path.

const POD_PREFIX = "/registry/pods/";
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class UnsupportedKeyError extends Error {
  override name = "UnsupportedKeyError";
  constructor(key: string, what: string) {
    super(
      `kubernetes store: ${what} ${JSON.stringify(key)} is not under ${POD_PREFIX}: the ` +
        "Kubernetes API adapter stores only pods (/registry/pods/{namespace}/{name}); keep other " +
        "keys, such as the port ledger, in an etcd or embedded store",
    );
  }
}

export interface PodRef {
  namespace: string;
  name: string;
}

/** "/registry/pods/ns/name" -> {namespace, name}; anything else is an error naming the key. */
export function parsePodKey(key: string): PodRef {
  if (!key.startsWith(POD_PREFIX)) throw new UnsupportedKeyError(key, "key");
  const parts = key.slice(POD_PREFIX.length).split("/");
  if (parts.length !== 2) {
    throw new Error(
      `kubernetes store: key ${JSON.stringify(key)} is not /registry/pods/{namespace}/{name}`,
    );
  }
  const [namespace, name] = parts;
  if (!DNS1123_LABEL.test(namespace)) {
    throw new Error(
      `kubernetes store: key ${JSON.stringify(key)}: namespace is not a DNS-1123 label`,
    );
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    throw new Error(
      `kubernetes store: key ${JSON.stringify(key)}: pod name is not a DNS-1123 subdomain`,
    );
  }
  return { namespace, name };
}

export const podKeyOf = (pod: { metadata?: { namespace?: string; name?: string } }): string =>
  `${POD_PREFIX}${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;

/**
 * Which API collection covers a key prefix: all pods, or one namespace's
 * pods (when the prefix names a whole namespace). Results are still
 * filtered by the exact prefix afterwards.
 */
export function collectionFor(prefix: string): string {
  if (POD_PREFIX.startsWith(prefix)) return "/api/v1/pods";
  if (!prefix.startsWith(POD_PREFIX)) throw new UnsupportedKeyError(prefix, "prefix");
  const rest = prefix.slice(POD_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return "/api/v1/pods";
  const ns = rest.slice(0, slash);
  if (!DNS1123_LABEL.test(ns)) {
    throw new Error(
      `kubernetes store: prefix ${JSON.stringify(prefix)}: namespace is not a DNS-1123 label`,
    );
  }
  return `/api/v1/namespaces/${ns}/pods`;
}

export const podPath = (ref: PodRef): string =>
  `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`;
