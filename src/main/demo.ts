// `npm start`: the whole system on one machine. The standalone server on the
// embedded store, a host-mode deployment of 3 replicas of examples/demo-app
// (each renders its config from a template with AUTO_PORT0), domeos-confd
// rendering the seed's nginx upstream from the store, and nginx in front if
// it is installed. Prints what runs where; Ctrl-C stops everything.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DemoConfd } from "./demo-confd.js";
import { DemoNginx, nginxInstalled } from "./demo-nginx.js";
import { freeLocalPort } from "./free-port.js";
import { repoRoot } from "./repo-root.js";
import { type Standalone, startStandalone } from "./standalone-server.js";

const DEPLOYMENT = "img-host-test"; // the name the seed's upstream template selects
const REPLICAS = 3;

const HELP = `npm start [-- options]   (node dist/src/main/demo.js)

Runs domeos-server with the standalone runtime, a demo host-mode deployment
(${REPLICAS} replicas of examples/demo-app), domeos-confd and, if installed, nginx.

  --data-dir DIR   store and pods (default ./.data/demo; kept between runs, so
                   a second start brings the same deployment back)
  --listen H:P     console and admin API (default 127.0.0.1:8080, or a free port if taken)
  --host-ip IP     the host address pods report as hostIP/podIP (default 127.0.0.1)
  --fresh          delete the data dir first
  -h, --help       this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string" },
      listen: { type: "string" },
      fresh: { type: "boolean" },
      "host-ip": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const dataDir = resolve(values["data-dir"] ?? join(".data", "demo"));
  if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const runDir = mkdtempSync(join(tmpdir(), "domeos-demo-"));
  const listen = values.listen ?? (await defaultListen());

  const withNginx = nginxInstalled();
  const nginx = withNginx ? new DemoNginx(join(runDir, "nginx"), await freeLocalPort()) : null;
  const dest = nginx?.upstreamPath ?? join(runDir, "upstream.conf");
  const confd = new DemoConfd({
    confdir: join(runDir, "confd"),
    node: dataDir,
    dest,
    checkCmd: nginx?.checkCmd(),
    reloadCmd: nginx?.reloadCmd(),
    metricsPort: await freeLocalPort(),
    logPath: join(runDir, "confd.log"),
  });

  const sa = await startStandalone({
    dataDir,
    listen,
    hostIP: values["host-ip"],
    confd: [{ name: "nginx upstream", dest, healthUrl: confd.healthUrl }],
    info: nginx ? { nginx: `http://127.0.0.1:${nginx.port}/` } : {},
    logLevel: "warn",
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      `\n${why}: stopping pods and the server, then domeos-confd and nginx...\n`,
    );
    // pods first, while confd and nginx still run: they take each pod out before it gets SIGTERM
    await sa.close().catch((e) => process.stderr.write(`close: ${(e as Error).message}\n`));
    await confd.stop().catch(() => {});
    await nginx?.stop().catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
    process.stdout.write("stopped.\n");
    process.exit(0);
  };
  // Ctrl-C reaches only this process (confd and nginx have their own process
  // groups, pods too): the pods drain through confd and nginx, which stop last
  process.on("SIGINT", () => void stop("Ctrl-C"));
  process.on("exit", () => {
    confd.kill();
    nginx?.kill();
  });
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (nginx) {
    nginx.configure();
    await nginx.start();
  }
  await ensureDemoDeployment(sa);
  confd.writeConfig();
  confd.start();

  const replicas = await waitForReplicas(sa, nginx?.port, confd);
  printSummary({ sa, dataDir, nginx, confd, dest, replicas });
}

async function defaultListen(): Promise<string> {
  const { portFree } = await import("./free-port.js");
  return (await portFree(8080)) ? "127.0.0.1:8080" : `127.0.0.1:${await freeLocalPort()}`;
}

/** Create the demo deployment through the admin API, unless a previous run left it. */
async function ensureDemoDeployment(sa: Standalone): Promise<void> {
  const auth = { authorization: `Bearer ${sa.adminToken}`, "content-type": "application/json" };
  const existing = await fetch(`${sa.url}/api/deployments/default/${DEPLOYMENT}`, {
    headers: auth,
  });
  if (existing.ok) return; // brought back from the store by startStandalone
  const app = join(repoRoot(), "examples", "demo-app");
  const res = await fetch(`${sa.url}/api/deployments`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({
      name: DEPLOYMENT,
      namespace: "default",
      command: ["node", join(app, "server.mjs"), "config.json"],
      replicas: REPLICAS,
      networkMode: "HOST",
      ports: 1,
      templates: [`${join(app, "config.json.tmpl")}:config.json`],
      accessType: "DIY",
    }),
  });
  if (!res.ok) throw new Error(`creating the demo deployment: ${res.status} ${await res.text()}`);
}

/** Wait until every replica answers (through nginx when it runs). */
async function waitForReplicas(
  sa: Standalone,
  nginxPort: number | undefined,
  confd: DemoConfd,
): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  const seen = new Set<string>();
  let warned = false;
  while (Date.now() < deadline) {
    if (nginxPort) {
      try {
        const r = await fetch(`http://127.0.0.1:${nginxPort}/`, {
          signal: AbortSignal.timeout(1000),
        });
        if (r.ok) seen.add(String(((await r.json()) as { replica: string }).replica));
      } catch {
        // not routed yet
      }
      if (seen.size >= REPLICAS) return [...seen].sort();
    } else {
      const pods = (await sa.store.list("/registry/pods/default/")).kvs.map((kv) =>
        JSON.parse(kv.value),
      );
      const ready = pods.filter((p) => p.status?.podIP && p.metadata?.annotations?.AUTO_PORT0);
      if (ready.length >= REPLICAS)
        return ready.map(
          (p) => `${p.metadata.name} on ${p.status.podIP}:${p.metadata.annotations.AUTO_PORT0}`,
        );
    }
    if (confd.problem && !warned) {
      warned = true;
      process.stderr.write(`warning: ${confd.problem}\n`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write(
    `warning: not all ${REPLICAS} replicas answered within 60 s; see the console\n`,
  );
  return [...seen];
}

function printSummary(x: {
  sa: Standalone;
  dataDir: string;
  nginx: DemoNginx | null;
  confd: DemoConfd;
  dest: string;
  replicas: string[];
}): void {
  const { sa, nginx, confd } = x;
  const lines = [
    "",
    "domeos-hostnet demo is running",
    `  console       ${sa.url}/console/#token=${sa.adminToken}`,
    `  admin API     ${sa.url}/api/deployments   (Authorization: Bearer ${sa.adminToken})`,
    `  domeos-server ${sa.serverUrl}   (agent API: pods report their ports here)`,
    `  store         ${sa.store.description}`,
    `  deployment    default/${DEPLOYMENT}: ${REPLICAS} replicas of examples/demo-app, network mode host, 1 port`,
    `                pods' working dirs and logs in ${join(x.dataDir, "pods", "default")}`,
    `  domeos-confd  ${confd.argv().join(" ")}`,
    `                renders ${x.dest}`,
    nginx
      ? `  nginx         http://127.0.0.1:${nginx.port}/   -> ${x.replicas.join(", ")}`
      : "  nginx         not installed (apt-get install nginx): the upstream file above is still rendered",
    ...(nginx
      ? ["", `Try:  for i in 1 2 3 4 5 6; do curl -s http://127.0.0.1:${nginx.port}/; done`]
      : x.replicas.map((r) => `                ${r}`)),
    "",
    "Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().catch((err) => {
  process.stderr.write(`demo: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
