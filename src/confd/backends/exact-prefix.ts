// Which keys a resource key covers. confd's etcdv3 backend *reads* with an
// exact-prefix filter (`k == key || HasPrefix(k, key+"/")`) but *watches* the
// raw string prefix, so `/registry/pods/default2/x` wakes a watcher of
// `/registry/pods/default` for a full re-read and render. We filter reads and
// watch events the same way: sibling prefixes never reach the view and never
// wake anyone.

import { join } from "../../golib/path.js";

/** Clean a resource key as Go's path.Join("/", key): leading "/", no "//", no trailing "/". */
export function cleanPrefix(key: string): string {
  return join("/", key);
}

/** True when `key` is `prefix` itself or lies below it (path-wise, not string-wise). */
export function underPrefix(key: string, prefix: string): boolean {
  if (prefix === "/") return key.startsWith("/");
  return key === prefix || (key.startsWith(prefix) && key.charCodeAt(prefix.length) === 0x2f);
}

/** Clean, dedupe and drop prefixes covered by another one (`/a` covers `/a/b`), sorted. */
export function coveringPrefixes(keys: Iterable<string>): string[] {
  const cleaned = [...new Set([...keys].map(cleanPrefix))].sort();
  return cleaned.filter((p) => !cleaned.some((q) => q !== p && underPrefix(p, q)));
}

/** True when `key` lies under any of `prefixes`. */
export function underAny(key: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (underPrefix(key, p)) return true;
  return false;
}
