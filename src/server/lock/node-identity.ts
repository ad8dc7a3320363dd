// The node identity of a process runtime: this host and its data dir. Pods
// the runtime creates carry it as spec.nodeName, and it adopts only pods that
// carry it, so two servers sharing a store (each with its own data dir) never
// run, restart or delete each other's pods.
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";

/** Pods of runtimes from before node identities; still adopted (the data-dir lock keeps them single). */
export const LEGACY_NODE_NAME = "standalone";

export function nodeIdentity(dataDir: string): string {
  let dir = resolve(dataDir);
  try {
    dir = realpathSync(dir);
  } catch {
    // not created yet: the resolved path names it
  }
  const host =
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "host";
  const digest = createHash("sha256").update(`${hostname()}\0${dir}`).digest("hex").slice(0, 8);
  return `${host.slice(0, 50)}-${digest}`;
}
