// Store URLs of configured clusters. Delegates to the store package's
// openStore when it understands the URL; the forms documented in
// docs/server.md are:
//   embedded            the embedded SQLite store in --data-dir
//   embedded:/some/dir  the embedded store in that directory
//   etcd://h1:2379,h2:2379  or  http://h1:2379,http://h2:2379   etcd v3
import { join } from "node:path";
import { EmbeddedStore } from "../../store/embedded.js";
import { EtcdStore } from "../../store/etcd.js";
import type { Store } from "../../store/store.js";

export function openClusterStore(url: string, dataDir: string): Store {
  if (url === "embedded") return new EmbeddedStore(join(dataDir, "store"));
  if (url.startsWith("embedded:")) return new EmbeddedStore(url.slice("embedded:".length));
  if (url.startsWith("etcd://")) {
    const hosts = url.slice("etcd://".length).split(",");
    return new EtcdStore({ endpoints: hosts.map((h) => `http://${h}`) });
  }
  if (/^https?:\/\//.test(url)) return new EtcdStore({ endpoints: url.split(",") });
  throw new Error(
    `store URL ${JSON.stringify(url)} is not understood: use "embedded", "embedded:/dir", "etcd://host:2379[,host:2379]" or "http://host:2379"`,
  );
}
