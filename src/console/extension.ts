// The console mounted on domeos-server itself (startServer's `extend` hook):
// one address for the page, its state API and the admin API it writes to.
import { ProcessRuntime } from "../runtime/server-adapter.js";
import { DEFAULT_CLUSTER, type ServerExtension } from "../server/config/config.js";
import type { RunningServer } from "../server/server.js";
import { Console } from "./handler.js";
import type { ConfdResource } from "./state.js";

export interface ConsoleExtensionOptions {
  /** domeos-confd resources the console shows. */
  confd?: ConfdResource[];
  /** Extra lines for the console header. */
  info?: Record<string, string>;
}

/** The console of cluster "default": its pods, port map and (process runtime) pod logs. */
export function consoleExtension(
  server: RunningServer,
  o: ConsoleExtensionOptions = {},
): ServerExtension {
  const store = server.clusters.get(DEFAULT_CLUSTER).store;
  const runtime = server.runtime;
  return new Console({
    store,
    adminToken: server.adminToken,
    portRange: server.portRange,
    confd: o.confd ?? [],
    info: { store: store.description, server: server.url, ...(o.info ?? {}) },
    logPaths: runtime instanceof ProcessRuntime ? (ns, pod) => runtime.paths(ns, pod) : undefined,
  });
}
