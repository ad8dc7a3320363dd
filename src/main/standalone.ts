// `node dist/src/main/standalone.js`: domeos-server running host-mode
// deployments on this host (the standalone runtime), with the console. The
// real-use counterpart of the demo: no demo deployment, no confd or nginx.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parsePortRange } from "../server/config/config.js";
import { EtcdStore } from "../store/etcd.js";
import { startStandalone } from "./standalone-server.js";

const HELP = `node dist/src/main/standalone.js [options]

domeos-server with the standalone runtime: each replica of a host-mode
deployment runs here as a process through domeize (see docs/standalone.md),
plus the console at /console/.

  --data-dir DIR      embedded store, secret, pods' working dirs and logs (default ./.data)
  --listen H:P        console and admin API (default 127.0.0.1:8080)
  --etcd URLS         use etcd (http://h:2379[,http://h2:2379]) instead of the embedded store
  --host-ip IP        the address pods report as hostIP/podIP (default 127.0.0.1)
  --port-range A-B    AUTO_PORT range (default 20000-20999)
  --admin-token T     admin bearer token (default: $DOMEOS_ADMIN_TOKEN, else generated and printed)
  -h, --help          this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string" },
      listen: { type: "string" },
      etcd: { type: "string" },
      "host-ip": { type: "string" },
      "port-range": { type: "string" },
      "admin-token": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const store = values.etcd ? new EtcdStore({ endpoints: values.etcd.split(",") }) : undefined;
  const sa = await startStandalone({
    dataDir: resolve(values["data-dir"] ?? ".data"),
    listen: values.listen ?? "127.0.0.1:8080",
    store,
    hostIP: values["host-ip"],
    portRange: values["port-range"]
      ? parsePortRange(values["port-range"], "--port-range")
      : undefined,
    adminToken: values["admin-token"] ?? process.env.DOMEOS_ADMIN_TOKEN,
    logLevel: "info",
  });
  process.stdout.write(
    [
      `standalone domeos-server on ${sa.store.description}`,
      `  console    ${sa.url}/console/#token=${sa.adminToken}`,
      `  admin API  ${sa.url}/api/deployments (Authorization: Bearer <admin token>)`,
      `  agent API  ${sa.serverUrl} (pods' DOMEOS_SERVER_ADDR)`,
      "",
    ].join("\n"),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sa.close();
    await store?.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err) => {
  process.stderr.write(`standalone: ${(err as Error).message}\n`);
  process.exit(1);
});
