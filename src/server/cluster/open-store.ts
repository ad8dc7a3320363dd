// Store URLs of configured clusters: the store package's openStore forms
// (etcd://h:2379[,h2:2379], http(s)://..., embedded:/dir, kubernetes:), plus
// "embedded" alone = the embedded store in the server's --data-dir.
import { join } from "node:path";
import { openStore } from "../../store/open.js";
import type { Store } from "../../store/store.js";

export function openClusterStore(url: string, dataDir: string): Promise<Store> {
  if (url === "embedded") return openStore(`embedded:${join(dataDir, "store")}`);
  return openStore(url);
}
